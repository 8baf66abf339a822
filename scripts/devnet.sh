#!/usr/bin/env bash
# The local bridge in one command: a dev parachain node (substrate-contracts-node --dev --tmp) and the ICON test
# chain on loopback, the BMC, BMV and native-coin BSH deployed and wired by `relay deploy`, the deployment file
# written, and `relay start` between the chains; then it waits. Ctrl-C (or SIGTERM) stops everything it started.
# `--demo`: once up, it runs the seed's story through the relay (devnet-demo: Bob's 100 ICX on ICON, the 1 ICX
# fee, the 99 wrapped ICX minted on the parachain), printing each step with both chains' balances, then stops.
# Ports: PARA_PORT (9944) and ICON_PORT (9080). Logs and the deployment file: DEVNET_DIR (target/devnet).
# DEVNET_BINARIES=DIR takes relay, icon-testnet and devnet-demo from DIR instead of building them.
set -euo pipefail
DEMO=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    *) echo "usage: scripts/devnet.sh [--demo]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
source scripts/env.sh
# The relay's configuration variables of the caller's shell (RELAY_PARACHAIN_URL, RELAY_SIGNER_KEY_FILE, …) would
# point the devnet's relay elsewhere or sign with another key: only RELAY_SURI and RELAY_LOG are kept.
for var in $(compgen -e); do
  case "$var" in RELAY_SURI | RELAY_LOG) ;; RELAY_*) unset "$var" ;; esac
done
PARA_PORT="${PARA_PORT:-9944}"
ICON_PORT="${ICON_PORT:-9080}"
DIR="${DEVNET_DIR:-target/devnet}"
mkdir -p "$DIR"
[ -f target/contracts/bmc.contract ] || bash scripts/build-contracts.sh
if [ -n "${DEVNET_BINARIES:-}" ]; then
  BIN="$DEVNET_BINARIES"
else
  # No -p: the workspace's feature set, which the test suite's build has already compiled.
  cargo build --quiet --bin relay --bin icon-testnet --bin devnet-demo
  BIN=target/debug
fi

PIDS=()
stop() {
  trap - EXIT INT TERM
  # SIGTERM lets the node remove its --tmp chain; whatever is still up after 10 s is killed.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  echo "devnet stopped"
}
trap stop EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PARA_PORT" "$ICON_PORT"; do
  if port_open "$port"; then
    echo "port $port is taken (another devnet?): set PARA_PORT / ICON_PORT" >&2
    exit 1
  fi
done

wait_until() { # what, pid, test…
  local what=$1 pid=$2
  shift 2
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { echo "$what exited; the end of $DIR/$what.log:" >&2; tail -5 "$DIR/$what.log" >&2; exit 1; }
    "$@" && return 0
    sleep 0.2
  done
  echo "$what did not come up within a minute ($DIR/$what.log)" >&2
  exit 1
}
icon_account() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/icon.log" | head -1; }
icon_bmc() { icon_account bmc_address; }
icon_ready() { [ -n "$(icon_bmc)" ]; }

substrate-contracts-node --dev --tmp --rpc-port "$PARA_PORT" --listen-addr /ip4/127.0.0.1/tcp/0 \
  --no-prometheus --no-telemetry --no-mdns >"$DIR/node.log" 2>&1 &
PIDS+=($!)
NODE=$!
"$BIN/icon-testnet" --listen "127.0.0.1:$ICON_PORT" --network 0x3.icon --validators 4 --block-interval-ms 1000 \
  --dev-accounts >"$DIR/icon.log" 2>&1 &
PIDS+=($!)
ICON=$!
# The ICON test chain prints its BMC once it listens.
wait_until icon "$ICON" icon_ready
ICON_BMC=$(icon_bmc)
wait_until node "$NODE" port_open "$PARA_PORT"

# Each run is a new dev chain (--tmp), so a new deployment.
rm -f "$DIR/deployment.toml"
RELAY_SURI="${RELAY_SURI:-//Alice}" "$BIN/relay" deploy --deployment "$DIR/deployment.toml" \
  --parachain-url "ws://127.0.0.1:$PARA_PORT" --network 0x501.pra \
  --icon-url "http://127.0.0.1:$ICON_PORT/api/v3" --icon-bmc "$ICON_BMC" \
  --coin ICX:ICX:18:0:100000000000000000:0x3.icon 2>"$DIR/deploy.log" ||
  { echo "relay deploy failed; the end of $DIR/deploy.log:" >&2; tail -5 "$DIR/deploy.log" >&2; exit 1; }

RELAY_SURI="${RELAY_SURI:-//Alice}" RELAY_STORE="$DIR/relay-store.redb" "$BIN/relay" start --deployment "$DIR/deployment.toml" 2>"$DIR/relay.log" &
PIDS+=($!)

echo
echo "devnet is up (Ctrl-C stops it):"
echo "  parachain node: ws://127.0.0.1:$PARA_PORT (log $DIR/node.log; dev accounts //Alice … //Ferdie)"
echo "  ICON test chain: http://127.0.0.1:$ICON_PORT/api/v3, BMC $ICON_BMC (log $DIR/icon.log)"
echo "  deployment file: $DIR/deployment.toml"
echo "  relay (ICON → parachain, as //Alice): log $DIR/relay.log; $BIN/relay status --deployment $DIR/deployment.toml"
echo "  ICON dev accounts: BMC owner $(icon_account owner), Bob $(icon_account bob) (1,000 ICX)"
if [ "$DEMO" = 1 ]; then
  echo
  "$BIN/devnet-demo" --deployment "$DIR/deployment.toml" --icon-nativecoin "$(icon_account nativecoin)"
  exit
fi
while :; do sleep 1; done
