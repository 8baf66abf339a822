#!/usr/bin/env bash
# Builds substrate-contracts-node (crate `contracts-node`) from crates.io into $ROOT/bin, for a machine where
# setup.sh found no valid prebuilt copy. About 55-75 minutes on 2 cores, ~8 GB of target directory.
#
# The node's runtimes are Wasm, built by substrate-wasm-builder. Here rustup has no wasm32 target or rust-src,
# so they are built with Debian's rustc-web 1.85 (sysroot /usr, ships the std sources) and -Zbuild-std, through
# a cargo wrapper registered as a rustup toolchain (WASM_BUILD_TOOLCHAIN); rust-lld is lld-19. The wasm builder
# must be pointed at the crate's own Cargo.lock (WASM_BUILD_WORKSPACE_HINT): without it, it re-resolves the
# runtimes' dependencies to versions that need a newer Rust.
set -euo pipefail

VERSION=${VERSION:-0.42.0}
WORK=${WORK:-${TMPDIR:-/tmp}/contracts-node-build}
ROOT=${ROOT:-${CARGO_HOME:-$HOME/.cargo}}
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target}

rustup toolchain list | grep -q '^web' || rustup toolchain link web /usr

# The wrapper toolchain: rustc from /usr, rust-lld from lld-19, and a cargo that adds
# -Zbuild-std=std,panic_abort to every wasm32 build (the builder's own sanity check builds a dummy crate without
# it, which cannot work with no prebuilt wasm32 std; cargo 1.85's plain -Zbuild-std leaves out panic_abort).
tc="$WORK/wasm-toolchain"
mkdir -p "$tc/bin" "$tc/lib"
ln -sf /usr/bin/rustc "$tc/bin/rustc"
ln -sf /usr/bin/rustdoc "$tc/bin/rustdoc"
ln -sf /usr/lib/llvm-19/bin/lld "$tc/bin/rust-lld"
cat > "$tc/bin/cargo" <<'WRAPPER'
#!/usr/bin/env bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$here:$PATH" RUSTC_BOOTSTRAP=1
wasm=0 sub="" print_only=0
for a in "$@"; do
  case "$a" in
    --target=wasm32-unknown-unknown | wasm32-unknown-unknown) wasm=1 ;;
    --version | --print | -V) print_only=1 ;;
  esac
  [ -z "$sub" ] && [[ "$a" != -* ]] && sub="$a"
done
# Drop any build-std the builder passes: the one below replaces it.
args=() skip=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; [ "$a" = build-std ] && continue; args+=(-Z); fi
  [ "$a" = -Z ] && { skip=1; continue; }
  [[ "$a" == -Zbuild-std* ]] && continue
  args+=("$a")
done
[ "$skip" = 1 ] && args+=(-Z)
if [ "$wasm" = 1 ] && [ "$print_only" = 0 ] && [[ "$sub" =~ ^(build|rustc|check)$ ]]; then
  exec /usr/bin/cargo "${args[@]}" -Zbuild-std=std,panic_abort
fi
exec /usr/bin/cargo "${args[@]}"
WRAPPER
chmod +x "$tc/bin/cargo"
rustup toolchain link contracts-node-wasm "$tc"

export WASM_BUILD_TOOLCHAIN=contracts-node-wasm WASM_BUILD_NO_COLOR=1 CARGO_INCREMENTAL=0
# opt-level 1 builds in about half the time of 3; the dev node is not a benchmark.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1} CARGO_PROFILE_RELEASE_DEBUG=0

cargo +web info "contracts-node@$VERSION" >/dev/null # fetches the crate's sources into the registry
SRC=$(ls -d "$CARGO_HOME"/registry/src/index.crates.io-*/"contracts-node-$VERSION" | head -n1)
export WASM_BUILD_WORKSPACE_HINT="$SRC"
cargo +web install contracts-node --version "$VERSION" --locked --root "$ROOT" -j 2
"$ROOT/bin/substrate-contracts-node" --version
