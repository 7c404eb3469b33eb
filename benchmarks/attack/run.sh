#!/usr/bin/env bash
# Attack benchmark of fsplit-serve on loopback with the default model's ONNX artifact.
# Results: benchmarks/results/attack.{json,md}. About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
ART=artifacts/default/onnx-none
if [ ! -f "$ART/manifest.json" ]; then
  .venv/bin/fsplit-export --target onnx --quantize none --out artifacts/default
fi
nice -n 10 .venv/bin/python benchmarks/attack/run.py --artifact "$ART" "$@"
