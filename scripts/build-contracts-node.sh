#!/usr/bin/env bash
# Builds substrate-contracts-node (crate `contracts-node`) from crates.io into $ROOT/bin, for a machine where
# setup.sh found no valid prebuilt copy. About 55-75 minutes on 2 cores, ~8 GB of target directory.
#
# The node's runtimes are Wasm, built with wasm-toolchain.sh's toolchain. The wasm builder must be pointed at the
# crate's own Cargo.lock (WASM_BUILD_WORKSPACE_HINT): without it, it re-resolves the runtimes' dependencies to
# versions that need a newer Rust.
set -euo pipefail

VERSION=${VERSION:-0.42.0}
WORK=${WORK:-${TMPDIR:-/tmp}/contracts-node-build}
ROOT=${ROOT:-${CARGO_HOME:-$HOME/.cargo}}
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WORK/target}

source "$(dirname "$0")/wasm-toolchain.sh"

cargo +web info "contracts-node@$VERSION" >/dev/null # fetches the crate's sources into the registry
SRC=$(ls -d "$CARGO_HOME"/registry/src/index.crates.io-*/"contracts-node-$VERSION" | head -n1)
export WASM_BUILD_WORKSPACE_HINT="$SRC"
cargo +web install contracts-node --version "$VERSION" --locked --root "$ROOT" -j 2
"$ROOT/bin/substrate-contracts-node" --version
