#!/usr/bin/env bash
# End-to-end benchmark of the bundled default model: split computing at each rate point (ExecuTorch int8 encoder,
# and fp32 at rate point 0, + C coder + fsplit-serve) vs offloading JPEG/WebP to the full teacher, over shaped
# bandwidth, then the local/split/offload decision for this host and for devices stated to be 10x and 50x slower.
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
