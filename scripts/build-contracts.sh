#!/usr/bin/env bash
# Builds every contract with `cargo contract build --release` into target/contracts/ (the artefacts the e2e tests
# deploy), and proves each .wasm is WebAssembly MVP only: pallet-contracts refuses code with bulk-memory or other
# post-MVP instructions.
#
# ink's static I/O buffer holds a call's input and output; real ICON relay messages reach 64 KB, the default is
# 16 KiB, so it is raised at compile time. With that variable set, cargo-contract runs `cargo clean` on the
# target directory whenever the contract has no metadata recording the size yet, so each contract builds in a
# target directory of its own.
#
# The native-coin service is also built as its next release (`--features next-version`: the same storage,
# `version()` 2) into bsh_nativecoin_next.*, which the upgrade e2e test moves a live service to; it reuses the
# service's build directory, so only the contract itself compiles again.
#
# A contract build ends in long single-threaded steps (LTO with one codegen unit, the metadata build's link,
# wasm-opt), so CONTRACT_JOBS builds (default 2) run at once; each one's output is printed when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

export INK_STATIC_BUFFER_SIZE=196608
out=target/contracts
jobs=${CONTRACT_JOBS:-2}
case "$jobs" in ''|*[!0-9]*|0) echo "CONTRACT_JOBS must be a whole number of at least 1, not '$jobs'" >&2; exit 2 ;; esac
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
mkdir -p "$out"

# build MANIFEST ARTEFACT [OUTPUT_NAME FEATURES]
build() {
  local manifest=$1 artefact=$2 name=${3:-$2} features=${4:-}
  local build_dir="target/contract-builds/$artefact"
  CARGO_TARGET_DIR="$build_dir" cargo contract build --release --quiet --manifest-path "$manifest" ${features:+--features "$features"} || return 1
  for ext in contract wasm json; do
    cp "$build_dir/ink/$artefact/$artefact.$ext" "$out/$name.$ext"
  done
}

# Every artefact of one contract: the next release of the native-coin service after its own. Both releases
# share a build directory, where cargo keeps both fresh and then leaves the Wasm of whichever was built last in
# place for cargo-contract: the service's source is touched before each, so that each is compiled again (about a
# minute and a half each), and the two must differ.
build_all() {
  local manifest=$1 artefact=$2
  if [ "$artefact" != bsh_nativecoin ]; then
    build "$manifest" "$artefact"
    return
  fi
  local source
  source="$(dirname "$manifest")/lib.rs"
  touch "$source"
  build "$manifest" "$artefact" || return 1
  touch "$source"
  build "$manifest" "$artefact" bsh_nativecoin_next next-version || return 1
  if cmp -s "$out/bsh_nativecoin.wasm" "$out/bsh_nativecoin_next.wasm"; then
    echo "bsh_nativecoin_next.wasm is bsh_nativecoin.wasm: the next release was not built" >&2
    return 1
  fi
}

artefacts=()
for manifest in contracts/*/Cargo.toml e2e-tests/test-service/Cargo.toml; do
  dir=$(dirname "$manifest")
  [ "$(basename "$dir")" = libs ] && continue
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)
  artefact=${name//-/_}
  artefacts+=("$artefact")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "== cargo contract build --release: $name"
  # `set -e` would end the subshell at a failed build, before its status and output are kept.
  ( set +e; build_all "$manifest" "$artefact" > "$logs/$artefact.log" 2>&1; echo $? > "$logs/$artefact.rc"; cat "$logs/$artefact.log" ) &
done
wait

status=0
for artefact in "${artefacts[@]}"; do
  if [ "$(cat "$logs/$artefact.rc")" != 0 ]; then
    echo "BUILD FAIL   $artefact"
    status=1
    continue
  fi
  wasms=("$out/$artefact.wasm")
  [ "$artefact" = bsh_nativecoin ] && wasms+=("$out/bsh_nativecoin_next.wasm")
  for wasm in "${wasms[@]}"; do
    if wasm-validate --disable-bulk-memory --disable-sign-extension --disable-saturating-float-to-int \
         --disable-multi-value --disable-reference-types --disable-simd --disable-mutable-globals "$wasm"; then
      echo "WASM-MVP ok  $(basename "$wasm") $(stat -c %s "$wasm") bytes"
    else
      echo "WASM-MVP FAIL $(basename "$wasm") uses instructions beyond WebAssembly MVP"
      status=1
    fi
  done
done
exit $status
