#!/usr/bin/env bash
# The whole test suite: format and lints, release builds of every contract with the MVP check, host unit tests of
# every crate with the relay's tests on a real node, the ICON vectors through the light client, the e2e tests on a
# real pallet-contracts runtime, and the gas benchmarks. It reads nothing outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Each step's heading with the time since the start: where CI's minutes go.
step() { echo "== [${SECONDS}s] $*"; }

step "format (rustfmt.toml; rustc-web has no rustfmt, the machine's stable toolchain does) and clippy"
cargo +stable fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

step "contracts (release) and WebAssembly MVP check"
bash scripts/build-contracts.sh

# One build of the whole workspace, its features unified over every crate: the vectors and the benchmarks below
# reuse it (`-p` or `--exclude` would resolve other feature sets and build half the dependency tree again).
step "every crate's tests: host unit tests, ink! off-chain tests, the relay on a real node (relay deploy,"
echo "   devnet.sh and its demos, the relay between the chains), the bridge on a local relay chain's parachain (and its"
echo "   figures), e2e tests on a real pallet-contracts runtime (ink_e2e sandbox)"
cargo test --workspace

step "ICON vectors through the light client"
bash scripts/check-vectors.sh contracts/libs/icon-vectors/data/icon

step "benchmarks: BMV gas on real ICON data; the bridge's calls"
cargo run --quiet --example bmv_gas
cargo run --quiet --example bridge_gas
step "benchmark: the relay's catch-up (relay messages and CPU per block update)"
cargo run --quiet --example relay_bench
step "done"
