#!/usr/bin/env bash
# End-to-end benchmark of the bundled default model: split computing (ExecuTorch fp32 and int8 encoders + C coder
# + fsplit-serve) vs offloading JPEG/WebP to the full teacher, over shaped bandwidth. Results: benchmarks/results/e2e/.
# Needs root for network namespaces (otherwise transfer times are computed, and the results say so).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
ART=artifacts/default
if [ ! -f "$ART/executorch-none/manifest.json" ] || [ ! -f "$ART/executorch-int8/manifest.json" ]; then
  "$BIN/fsplit-export" --target executorch --quantize none --quantize int8 --out "$ART"
fi
exec "$BIN/fsplit-bench" e2e --artifact "fp32=$ART/executorch-none" --artifact "int8=$ART/executorch-int8" \
  --out benchmarks/results/e2e "$@"
