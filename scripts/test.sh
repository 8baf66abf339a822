#!/usr/bin/env bash
# The whole test suite: format and lints, release builds of every contract with the MVP check, host unit tests of
# every crate with the relay's tests on a real node, the ICON vectors through the light client, the e2e tests on a
# real pallet-contracts runtime, and the gas benchmarks. It reads nothing outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

echo "== format (rustfmt.toml; rustc-web has no rustfmt, the machine's stable toolchain does) and clippy"
cargo +stable fmt --all --check
cargo clippy --workspace --all-targets --features btp-e2e-tests/e2e-tests -- -D warnings

echo "== contracts (release) and WebAssembly MVP check"
bash scripts/build-contracts.sh

echo "== host unit tests, ink! off-chain tests, and the relay on a real node (relay deploy, devnet.sh: they need the bundles)"
cargo test --workspace --exclude btp-e2e-tests

echo "== ICON vectors through the light client"
bash scripts/check-vectors.sh contracts/libs/icon-vectors/data/icon

echo "== e2e tests (ink_e2e sandbox: pallet-contracts in-process)"
cargo test -p btp-e2e-tests --features e2e-tests

echo "== benchmarks: BMV gas on real ICON data; the bridge's calls"
cargo run --quiet -p btp-e2e-tests --features e2e-tests --example bmv_gas
cargo run --quiet -p btp-e2e-tests --features e2e-tests --example bridge_gas
echo "== benchmark: the relay's catch-up (relay messages and CPU per block update)"
cargo run --quiet -p btp-relay --example relay_bench
