#!/usr/bin/env bash
# Make the bundled default (fsplit_mobile/data/default/bottleneck_units_lite0_b16.pt) from scratch: feature caches,
# five linear per-pixel units after block 16 of the frozen EfficientNet-Lite0 (one per quantiser step), one combined
# checkpoint, and the validation comparison (model selection never looks at the held-out photos).
# On this 2-core CPU: caches ~8 min, each unit ~3 min (the transform is the training features' principal components,
# only the entropy model is trained). Uses a CUDA GPU when torch sees one (--device auto); none is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-.cache/runs}
OUT=${OUT:-$RUNS/bottleneck_units_lite0_b16.pt}
mkdir -p .cache/features "$RUNS"
[ -f .cache/features/val.pt ] || $PY -m fsplit_mobile.training.features --split val --crops 8 --blocks 15,16 \
    --out .cache/features/val.pt
[ -f .cache/features/train_mix.pt ] || $PY -m fsplit_mobile.training.features --split train --crops 64 --mix 0.35 \
    --blocks 15,16 --out .cache/features/train_mix.pt
units=()
for step in 1.0 1.6 3.3 4.9 6.5; do
    run="$RUNS/b16_frozen_s${step/./}.pt"
    $PY -m fsplit_mobile.training.train bottleneck-unit --split-block 16 --kernel 1 --act none --init pca \
        --pca-step "$step" --latent-channels 320 --lmbda 1 --kd-weight 0 --freeze-transform --steps 1200 \
        --val-every 400 --train-cache .cache/features/train_mix.pt --val-cache .cache/features/val.pt --out "$run"
    units+=("$run")
done
$PY -m fsplit_mobile.training.train combine --out "$OUT" --name r0 --name r1 --name r2 --name r3 --name r4 \
    --default r2 --model-id bottleneck-units-lite0-b16 "${units[@]}"
$PY -m fsplit_mobile.evaluation.compare --split val --crops 4 --model "$OUT"
