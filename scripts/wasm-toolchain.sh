# Sourced by build-contracts-node.sh and build-polkadot.sh: the toolchain substrate-wasm-builder builds a
# node's runtime Wasm with. Needs WORK (a work folder).
#
# The runtimes are Wasm. Here rustup has no wasm32 target or rust-src, so they are built with Debian's rustc-web
# 1.85 (sysroot /usr, ships the std sources) and -Zbuild-std, through a cargo wrapper registered as a rustup
# toolchain (WASM_BUILD_TOOLCHAIN); rust-lld is lld-19.
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
rustup toolchain link btp-node-wasm "$tc"

export WASM_BUILD_TOOLCHAIN=btp-node-wasm WASM_BUILD_NO_COLOR=1 CARGO_INCREMENTAL=0
# opt-level 1 builds in about half the time of 3; the dev node is not a benchmark.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1} CARGO_PROFILE_RELEASE_DEBUG=0

