#!/usr/bin/env bash
# Builds polkadot 18.0.0 and its two workers from crates.io into $ROOT/bin, for a machine where setup.sh found no
# valid prebuilt copy: the relay chain of the parachain tests. Its polkadot-cli 19.0.0 is the one
# substrate-contracts-node 0.42 embeds, so validators and collator speak the same protocol versions.
# About 54 minutes on 2 cores (measured on the machine that built ../shared/cache's copy).
#
# Features: rococo-native (the rococo-local chain the tests run) and fast-runtime (one-minute sessions, so GRANDPA
# authority sets change every minute, as the parachain light client must follow); westend-native is left out, it
# only adds build time. Runtime Wasm as in build-contracts-node.sh, pointed at the crate's own lock.
set -euo pipefail

VERSION=${VERSION:-18.0.0}
WORK=${WORK:-${TMPDIR:-/tmp}/polkadot-build}
ROOT=${ROOT:-${CARGO_HOME:-$HOME/.cargo}}
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target}

source "$(dirname "$0")/wasm-toolchain.sh"

cargo +web info "polkadot@$VERSION" >/dev/null # fetches the crate (with its Cargo.lock) into the registry
SRC="$WORK/polkadot-$VERSION"
rm -rf "$SRC"
tar -xzf "$(ls "$CARGO_HOME"/registry/cache/index.crates.io-*/"polkadot-$VERSION.crate" | head -n1)" -C "$WORK"
python3 - "$SRC/Cargo.toml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
default = 'features = [\n    "rococo-native",\n    "westend-native",\n]'
assert default in text, "polkadot's default features are not the expected ones"
open(path, "w").write(text.replace(default, 'features = [\n    "rococo-native",\n]'))
PY
export WASM_BUILD_WORKSPACE_HINT="$SRC"
cargo +web install --path "$SRC" --locked --features fast-runtime --root "$ROOT" -j 2
"$ROOT/bin/polkadot" --version
