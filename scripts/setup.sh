#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian 12 machine, idempotently.
#
# Contracts are built with Debian's rustc-web 1.85: it targets wasm32-unknown-unknown and ships the std sources
# that cargo-contract's -Zbuild-std needs, which rustup cannot download here. 1.85 is pinned on purpose:
# newer compilers may emit bulk-memory instructions that pallet-contracts rejects, and 1.96 breaks
# cargo-contract 5.0.3 release builds.
set -euo pipefail

WEB_VERSION="1.85.0+dfsg3-1~deb12u3"
WEB_PACKAGES=(rustc-web cargo-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.85 rust-web-clippy)
# lld-19: rustc-web has no rust-lld, and the Wasm linker must match rustc's LLVM 19.
# wabt: wasm-validate, to prove every contract is WebAssembly MVP only.
OTHER_PACKAGES=(lld-19 wabt pkg-config libssl-dev protobuf-compiler clang zstd)
CARGO_CONTRACT_VERSION="5.0.3"
# The node the tests and devnet.sh start: pallet-contracts for ink! v5 (contracts-node on crates.io).
NODE_VERSION="0.42.0"
# The relay chain of the parachain tests: polkadot 18.0.0 (it reports 1.16.0) with its two workers.
POLKADOT_CRATE="18.0.0"
POLKADOT_VERSION="1.16.0"

say() { printf '[setup] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

installed_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3=="installed"{print $4}'; }

need_apt=0
for p in "${WEB_PACKAGES[@]}"; do
  [ "$(installed_version "$p")" = "$WEB_VERSION" ] || need_apt=1
done
for p in "${OTHER_PACKAGES[@]}"; do
  [ -n "$(installed_version "$p")" ] || need_apt=1
done

if [ "$need_apt" -eq 1 ]; then
  say "installing Debian packages (rustc-web pinned to $WEB_VERSION, lld-19, wabt, build tools)"
  $SUDO apt-get update -qq
  pinned=()
  for p in "${WEB_PACKAGES[@]}"; do pinned+=("$p=$WEB_VERSION"); done
  $SUDO apt-mark unhold "${WEB_PACKAGES[@]}" >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --allow-downgrades "${pinned[@]}" "${OTHER_PACKAGES[@]}"
  $SUDO apt-mark hold "${WEB_PACKAGES[@]}" >/dev/null
else
  say "Debian packages present (rustc-web $WEB_VERSION held)"
fi

command -v rustup >/dev/null || { say "rustup is required (the machine's stable toolchain)"; exit 1; }

if rustup toolchain list | grep -q '^web'; then
  say "rustup toolchain 'web' already linked"
else
  say "linking Debian's rustc-web as rustup toolchain 'web'"
  rustup toolchain link web /usr
fi
rustc +web --version | grep -q '^rustc 1\.85\.' || { say "toolchain 'web' is not rustc 1.85"; exit 1; }
# rustc-web has no rustfmt: test.sh checks the format with the machine's stable toolchain.
rustfmt +stable --version >/dev/null 2>&1 || rustup component add rustfmt --toolchain stable \
  || { say "the stable toolchain has no rustfmt and it cannot be added"; exit 1; }

# Prebuilt copies in ../shared/cache/ (see its README) save the long builds; each is used only when its checksum
# matches and it reports the expected version, else the tool is built from crates.io.
CACHE_DIR="${BTP_TOOL_CACHE:-$(cd "$(dirname "$0")/.." && pwd)/../shared/cache}"
BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"

# install_cached NAME FILE VERSION_PREFIX: unpack FILE from the cache as $BIN_DIR/NAME if it is valid. It is
# unpacked under its own name first (the node prints the name it was started as in --version).
install_cached() {
  local name=$1 file=$2 want=$3 sums="$CACHE_DIR/SHA256SUMS" part
  [ -f "$CACHE_DIR/$file" ] && [ -f "$sums" ] && command -v zstd >/dev/null || return 1
  (cd "$CACHE_DIR" && grep -E "  $file\$" SHA256SUMS | sha256sum --check --status -) || {
    say "cached $file does not match its checksum: not used"; return 1; }
  mkdir -p "$BIN_DIR"
  part=$(mktemp -d "$BIN_DIR/.setup-XXXXXX")
  zstd -q -d -f "$CACHE_DIR/$file" -o "$part/$name" && chmod +x "$part/$name"
  if "$part/$name" --version 2>/dev/null | grep -q "^$want"; then
    mv -f "$part/$name" "$BIN_DIR/$name"
    rmdir "$part"
    say "$name installed from the cache ($file)"
  else
    rm -rf "$part"; say "cached $file does not run as $want: not used"; return 1
  fi
}

if command -v cargo-contract >/dev/null && cargo-contract --version | grep -q "^cargo-contract $CARGO_CONTRACT_VERSION-"; then
  say "cargo-contract $CARGO_CONTRACT_VERSION present"
elif install_cached cargo-contract "cargo-contract-$CARGO_CONTRACT_VERSION-x86_64-linux-gnu.zst" "cargo-contract $CARGO_CONTRACT_VERSION-"; then
  :
else
  say "installing cargo-contract $CARGO_CONTRACT_VERSION with stable (about 16 minutes)"
  cargo +stable install cargo-contract --version "$CARGO_CONTRACT_VERSION" --locked
fi

if command -v substrate-contracts-node >/dev/null && substrate-contracts-node --version | grep -q "^substrate-contracts-node $NODE_VERSION-"; then
  say "substrate-contracts-node $NODE_VERSION present"
elif install_cached substrate-contracts-node "substrate-contracts-node-$NODE_VERSION-x86_64-linux-gnu.zst" "substrate-contracts-node $NODE_VERSION-"; then
  :
else
  say "building substrate-contracts-node $NODE_VERSION from crates.io (about 55-75 minutes)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev g++ make git
  VERSION="$NODE_VERSION" ROOT="${CARGO_HOME:-$HOME/.cargo}" bash "$(dirname "$0")/build-contracts-node.sh"
fi

# runs_as_polkadot DIR: DIR's polkadot and both workers report the expected version (the node refuses workers of
# another version; they print the bare version).
runs_as_polkadot() {
  "$1/polkadot" --version 2>/dev/null | grep -q "^polkadot $POLKADOT_VERSION-" \
    && "$1/polkadot-prepare-worker" --version 2>/dev/null | grep -q "^$POLKADOT_VERSION" \
    && "$1/polkadot-execute-worker" --version 2>/dev/null | grep -q "^$POLKADOT_VERSION"
}

# install_cached_polkadot: the cache's tar of bin/polkadot and its workers, if its checksum matches.
install_cached_polkadot() {
  local file="polkadot-$POLKADOT_CRATE-fast-rococo-x86_64-linux-gnu.tar.zst" part b
  [ -f "$CACHE_DIR/$file" ] && [ -f "$CACHE_DIR/SHA256SUMS" ] && command -v zstd >/dev/null || return 1
  (cd "$CACHE_DIR" && grep -E "  $file\$" SHA256SUMS | sha256sum --check --status -) || {
    say "cached $file does not match its checksum: not used"; return 1; }
  mkdir -p "$BIN_DIR"
  part=$(mktemp -d "$BIN_DIR/.setup-XXXXXX")
  zstd -q -d -c "$CACHE_DIR/$file" | tar -x -C "$part"
  runs_as_polkadot "$part/bin" || { rm -rf "$part"; say "cached $file does not run as $POLKADOT_VERSION: not used"; return 1; }
  for b in polkadot polkadot-prepare-worker polkadot-execute-worker; do mv -f "$part/bin/$b" "$BIN_DIR/$b"; done
  rm -rf "$part"
  say "polkadot $POLKADOT_VERSION and its workers installed from the cache ($file)"
}

if runs_as_polkadot "$BIN_DIR"; then
  say "polkadot $POLKADOT_VERSION and its workers present"
elif install_cached_polkadot; then
  :
else
  say "building polkadot $POLKADOT_CRATE from crates.io (about 54 minutes)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev g++ make git
  VERSION="$POLKADOT_CRATE" ROOT="${CARGO_HOME:-$HOME/.cargo}" bash "$(dirname "$0")/build-polkadot.sh"
fi

say "done"
