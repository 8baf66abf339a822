#!/usr/bin/env bash
# `relay deploy` against a local dev node, signed by the dev account //Alice unless RELAY_SURI says otherwise:
#   scripts/deploy.sh --icon-url URL --icon-bmc BTP_ADDRESS [other relay deploy options…]
# Defaults: --parachain-url ws://127.0.0.1:9944, --network 0x501.pra, --deployment target/devnet/deployment.toml
# (each overridable: PARACHAIN_URL, NETWORK, DEPLOYMENT). Builds the bundles and the relay first if they are missing.
# For a real parachain, run `relay deploy` itself (README, "Deploying").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
[ -f target/contracts/bmc.contract ] || bash scripts/build-contracts.sh
RELAY="${RELAY_BIN:-target/debug/relay}"
[ -n "${RELAY_BIN:-}" ] || cargo build --quiet -p btp-relay
DEPLOYMENT="${DEPLOYMENT:-target/devnet/deployment.toml}"
mkdir -p "$(dirname "$DEPLOYMENT")"
export RELAY_SURI="${RELAY_SURI:-//Alice}"
exec "$RELAY" deploy --deployment "$DEPLOYMENT" --parachain-url "${PARACHAIN_URL:-ws://127.0.0.1:9944}" \
  --network "${NETWORK:-0x501.pra}" "$@"
