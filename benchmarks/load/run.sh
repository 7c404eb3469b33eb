#!/usr/bin/env bash
# Load benchmark of fsplit-serve on loopback with the default model's artifacts. Results: benchmarks/results/load/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ART=artifacts/default
if [ ! -f "$ART/executorch-none/manifest.json" ] || [ ! -f "$ART/executorch-int8/manifest.json" ]; then
  .venv/bin/fsplit-export --target executorch --quantize none --quantize int8 --out "$ART"
fi
for a in executorch-none executorch-int8; do
  .venv/bin/python benchmarks/load/run.py --artifact "$ART/$a" "$@"
done
