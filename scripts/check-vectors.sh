#!/usr/bin/env bash
# Runs every *.json ICON vector in the given folders through the light client (the code the BMV contract runs):
# one line per file, PASS or FAIL with the reason, then "N passed, M failed". Exit 0 only if none failed.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/check-vectors.sh DIR..." >&2; exit 2; }
cd "$(dirname "$0")/.."
source scripts/env.sh
dirs=()
for d in "$@"; do dirs+=("$(cd "$OLDPWD" && cd "$d" && pwd)"); done
# No `-p`: the workspace-wide build the test suite made already holds it.
cargo build --quiet --bin check-vectors
exec target/debug/check-vectors "${dirs[@]}"
