#!/usr/bin/env bash
# The local bridge in one command: a parachain and the ICON test chain on loopback, the BMC, BMV and native-coin BSH
# deployed and wired by `relay deploy`, the deployment file written, and `relay start` between the chains (both
# ways: it gets a new ICON key, funded on the test chain); then it waits. Ctrl-C (or SIGTERM) stops everything it
# started.
# The parachain: a dev node (substrate-contracts-node --dev --tmp: a block per transaction, final a second later),
# or with `--parachain` a real one: `localnet` starts two rococo-local validators (polkadot) and
# substrate-contracts-node collating para 1000 (a block every 12 s, final about a minute later; up in ~3 minutes).
# `--demo`: once up, it runs the seed's story through the relay (devnet-demo: Bob's 100 ICX on ICON, the 1 ICX
# fee, the 99 wrapped ICX minted on the parachain, the parachain's answer back on ICON releasing Bob's lock),
# printing each step with both chains' balances, then stops.
# Ports: PARA_PORT (9944, dev node only; the parachain's are free ones) and ICON_PORT (9080). Logs and the
# deployment file: DEVNET_DIR (target/devnet).
# DEVNET_BINARIES=DIR takes relay, icon-testnet, devnet-demo and localnet from DIR instead of building them.
set -euo pipefail
DEMO=0
PARACHAIN=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    --parachain) PARACHAIN=1 ;;
    *) echo "usage: scripts/devnet.sh [--parachain] [--demo]" >&2; exit 2 ;;
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
  cargo build --quiet --bin relay --bin icon-testnet --bin devnet-demo --bin localnet
  BIN=target/debug
fi

PIDS=()
stop() {
  trap - EXIT INT TERM
  # SIGTERM lets the nodes remove their chains (localnet stops its three in turn); whatever is still up after 40 s
  # is killed.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 400); do
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
PORTS=("$ICON_PORT")
[ "$PARACHAIN" = 1 ] || PORTS+=("$PARA_PORT")
for port in "${PORTS[@]}"; do
  if port_open "$port"; then
    echo "port $port is taken (another devnet?): set PARA_PORT / ICON_PORT" >&2
    exit 1
  fi
done

wait_until() { # what, pid, test…
  local what=$1 pid=$2
  shift 2
  for _ in $(seq "${TRIES:-300}"); do
    kill -0 "$pid" 2>/dev/null || { echo "$what exited; the end of $DIR/$what.log:" >&2; tail -5 "$DIR/$what.log" >&2; exit 1; }
    "$@" && return 0
    sleep 0.2
  done
  echo "$what did not come up within $(( ${TRIES:-300} / 5 )) s ($DIR/$what.log)" >&2
  exit 1
}
icon_account() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$DIR/icon.log" | head -1; }
icon_bmc() { icon_account bmc_address; }
icon_ready() { [ -n "$(icon_bmc)" ]; }

# The relay's ICON account: a new key (kept with the devnet's files), funded with 100 ICX on the test chain.
ICON_KEY="$DIR/icon-relay-key.json"
ICON_PASSWORD="$DIR/icon-relay-password"
[ -f "$ICON_PASSWORD" ] || (umask 077 && head -c 24 /dev/urandom | base64 >"$ICON_PASSWORD")
rm -f "$ICON_KEY"
ICON_RELAY=$("$BIN/relay" keys new-icon --key-file "$ICON_KEY" --password-file "$ICON_PASSWORD" 2>/dev/null)

if [ "$PARACHAIN" = 1 ]; then
  # ICON's own block time: the relay carries an update per ICON block, one relay message per parachain block.
  ICON_INTERVAL_MS=2000
  "$BIN/localnet" >"$DIR/localnet.json" 2>"$DIR/localnet.log" &
  PIDS+=($!)
  NODE=$!
  para_url() { sed -n 's/.*"parachain":"\([^"]*\)".*/\1/p' "$DIR/localnet.json"; }
  para_ready() { [ -n "$(para_url)" ]; }
  NODE_LOG="$DIR/localnet.log"
else
  ICON_INTERVAL_MS=1000
  substrate-contracts-node --dev --tmp --rpc-port "$PARA_PORT" --listen-addr /ip4/127.0.0.1/tcp/0 \
    --no-prometheus --no-telemetry --no-mdns >"$DIR/node.log" 2>&1 &
  PIDS+=($!)
  NODE=$!
  para_url() { echo "ws://127.0.0.1:$PARA_PORT"; }
  para_ready() { port_open "$PARA_PORT"; }
  NODE_LOG="$DIR/node.log"
fi
"$BIN/icon-testnet" --listen "127.0.0.1:$ICON_PORT" --network 0x3.icon --validators 4 --block-interval-ms "$ICON_INTERVAL_MS" \
  --dev-accounts --fund "$ICON_RELAY=100000000000000000000" >"$DIR/icon.log" 2>&1 &
PIDS+=($!)
ICON=$!
# The ICON test chain prints its BMC once it listens.
wait_until icon "$ICON" icon_ready
ICON_BMC=$(icon_bmc)
# The relay chain finalizes the parachain's first block 2-3 minutes after start.
TRIES=2000 wait_until "$( [ "$PARACHAIN" = 1 ] && echo localnet || echo node )" "$NODE" para_ready
PARA_URL=$(para_url)

# Each run is a new chain, so a new deployment.
rm -f "$DIR/deployment.toml"
RELAY_SURI="${RELAY_SURI:-//Alice}" "$BIN/relay" deploy --deployment "$DIR/deployment.toml" \
  --parachain-url "$PARA_URL" --network 0x501.pra \
  --icon-url "http://127.0.0.1:$ICON_PORT/api/v3" --icon-bmc "$ICON_BMC" \
  --coin ICX:ICX:18:0:100000000000000000:0x3.icon 2>"$DIR/deploy.log" ||
  { echo "relay deploy failed; the end of $DIR/deploy.log:" >&2; tail -5 "$DIR/deploy.log" >&2; exit 1; }

rm -f "$DIR/relay-store.redb"
RELAY_SURI="${RELAY_SURI:-//Alice}" RELAY_STORE="$DIR/relay-store.redb" RELAY_ICON_KEY_FILE="$ICON_KEY" \
  RELAY_ICON_PASSWORD_FILE="$ICON_PASSWORD" "$BIN/relay" start --deployment "$DIR/deployment.toml" 2>"$DIR/relay.log" &
PIDS+=($!)

echo
echo "devnet is up (Ctrl-C stops it):"
echo "  parachain node: $PARA_URL (log $NODE_LOG; dev accounts //Alice … //Ferdie)"
echo "  ICON test chain: http://127.0.0.1:$ICON_PORT/api/v3, BMC $ICON_BMC (log $DIR/icon.log)"
echo "  deployment file: $DIR/deployment.toml"
echo "  relay (both ways, as //Alice and ICON's $ICON_RELAY): log $DIR/relay.log; $BIN/relay status --deployment $DIR/deployment.toml"
echo "  ICON dev accounts: BMC owner $(icon_account owner), Bob $(icon_account bob) (1,000 ICX)"
if [ "$DEMO" = 1 ]; then
  echo
  "$BIN/devnet-demo" --deployment "$DIR/deployment.toml" --icon-nativecoin "$(icon_account nativecoin)" \
    --timeout-secs "$( [ "$PARACHAIN" = 1 ] && echo 900 || echo 120 )"
  exit
fi
while :; do sleep 1; done
