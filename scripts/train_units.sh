#!/usr/bin/env bash
# Train the bundled bottleneck units from scratch: feature caches, two rate points, one combined checkpoint.
# Uses a CUDA GPU when torch sees one (--device auto); on CPU run it under `nice` in the background.
# STEPS (default 3000) and CROPS (training crops per photo, default 40) can be overridden from the environment.
# Not yet run on a GPU (none was available when it was written); on this 2-core CPU one unit took ~40 min.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-3000}
CROPS=${CROPS:-40}
RUNS=${RUNS:-.cache/runs}
mkdir -p .cache/features "$RUNS"
[ -f .cache/features/val.pt ] || $PY -m fsplit_mobile.training.features --split val --crops 8 --out .cache/features/val.pt
[ -f .cache/features/train.pt ] || $PY -m fsplit_mobile.training.features --split train --crops "$CROPS" --out .cache/features/train.pt
$PY -m fsplit_mobile.training.train bottleneck-unit --split-block 16 --latent-channels 32 --width 128 --lmbda 1 \
    --kd-weight 1 --steps "$STEPS" --batch-size 32 --val-every 500 --out "$RUNS/b16_L32_l1.pt"
$PY -m fsplit_mobile.training.train bottleneck-unit --split-block 16 --latent-channels 16 --width 128 --lmbda 8 \
    --kd-weight 1 --steps "$STEPS" --batch-size 32 --val-every 500 --out "$RUNS/b16_L16_l8.pt"
$PY -m fsplit_mobile.training.train combine --out "$RUNS/bottleneck_unit_lite0_b16.pt" "$RUNS/b16_L32_l1.pt" "$RUNS/b16_L16_l8.pt"
$PY -m fsplit_mobile.training.compare --split val --crops 4 --model "$RUNS/bottleneck_unit_lite0_b16.pt"
