#!/usr/bin/env bash
# Builds every contract with `cargo contract build --release`, copies the bundles to target/contracts/ (ink_e2e
# later overwrites target/ink with debug builds), and proves each .wasm is WebAssembly MVP only: pallet-contracts
# refuses code with bulk-memory or other post-MVP instructions.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

out=target/contracts
mkdir -p "$out"
status=0
for manifest in contracts/*/Cargo.toml; do
  dir=$(dirname "$manifest")
  [ "$(basename "$dir")" = libs ] && continue
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)
  artefact=${name//-/_}
  echo "== cargo contract build --release: $name"
  cargo contract build --release --quiet --manifest-path "$manifest"
  cp "target/ink/$artefact/$artefact.contract" "target/ink/$artefact/$artefact.wasm" "target/ink/$artefact/$artefact.json" "$out/"
  wasm="$out/$artefact.wasm"
  if wasm-validate --disable-bulk-memory --disable-sign-extension --disable-saturating-float-to-int \
       --disable-multi-value --disable-reference-types --disable-simd --disable-mutable-globals "$wasm"; then
    echo "WASM-MVP ok  $artefact.wasm $(stat -c %s "$wasm") bytes"
  else
    echo "WASM-MVP FAIL $artefact.wasm uses instructions beyond WebAssembly MVP"
    status=1
  fi
done
exit $status
