#!/usr/bin/env bash
# End-to-end benchmark of the bundled default model: split computing at each rate point (ExecuTorch int8 encoder,
# and fp32 at rate point 0, + C coder + fsplit-serve) vs offloading JPEG/WebP to the full teacher, over shaped
# bandwidth, then the local/split/offload decision for this host and for devices stated to be 10x and 50x slower;
# then the native runner's device time at each rate point (fsplit-bench run --rate-point, 16 held-out photos) and
# the 10x decision with those times (slowdown-10x-native).
# Results: benchmarks/results/e2e/. Needs root for the link shaping (otherwise transfer times are computed, and
# the results say so).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
ART=artifacts/default-rate-points
if [ ! -f "$ART/executorch-none/manifest.json" ] || [ ! -f "$ART/executorch-int8/manifest.json" ]; then
  "$BIN/fsplit-export" --target executorch --quantize none --quantize int8 --rate-points auto --out "$ART"
fi
OUT=benchmarks/results/e2e
"$BIN/fsplit-bench" e2e --artifact "r0=$ART/executorch-int8@0" --artifact "r1=$ART/executorch-int8@1" \
  --artifact "r2=$ART/executorch-int8@2" --artifact "r0-fp32=$ART/executorch-none@0" --slowdown 10 --out "$OUT" "$@"
for f in 1 50; do
  "$BIN/python" -m fsplit_mobile.e2e.decision --study "$OUT/e2e.json" --slowdown "$f" --out "$OUT/decision"
done
# The device side by the native C++ runner (no Python on the request path), one result per rate point, measured on
# this host and scaled by the same stated 10x.
NATIVE="$OUT/native"
mkdir -p "$NATIVE"
runtimes/native/build.sh host > /dev/null
RESULTS=()
for p in 0 1 2; do
  TMP="$(mktemp -d)"
  "$BIN/fsplit-bench" run --artifact "$ART/executorch-int8" --rate-point "$p" --device local --runner native \
    --native-runner runtimes/native/build/fsplit-bench-native --images fsplit_mobile/data/images/heldout \
    --image-limit 16 --runs 20 --warmup 5 --out "$TMP" --no-progress
  cp "$TMP/result.json" "$NATIVE/r$p-result.json"
  rm -rf "$TMP"
  RESULTS+=(--device-result "r$p=$NATIVE/r$p-result.json")
done
TMP="$(mktemp -d)"  # the Python agent in the same setting, for comparison (not used by the decision)
"$BIN/fsplit-bench" run --artifact "$ART/executorch-int8" --rate-point 0 --device local --runner python \
  --images fsplit_mobile/data/images/heldout --image-limit 16 --runs 20 --warmup 5 --out "$TMP" --no-progress
cp "$TMP/result.json" "$NATIVE/r0-python-agent-result.json"
rm -rf "$TMP"
"$BIN/python" -m fsplit_mobile.e2e.decision --study "$OUT/e2e.json" --slowdown 10 "${RESULTS[@]}" --scale-results \
  --name slowdown-10x-native --out "$OUT/decision"
