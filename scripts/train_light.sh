#!/usr/bin/env bash
# Make the lightweight split model (issue 20): a ~21 M-MAC encoder (5.5 % of EfficientNet-Lite0) on the device, a
# FeatureSynthesis decoder + the frozen teacher's blocks 5..15 on the server, trained by head distillation.
#   1. image feature caches: the teacher run once per crop (uint8 crops + block-5 features + logits);
#   2. phase A, features only: NMSE(decoder(y~), teacher features) + lmbda * bpp; no pass through the tail;
#   3. phase B, through the frozen tail: + KL(teacher || tail(decoder(y~))), starting from phase A's weights;
#   4. the validation comparison (model selection never looks at the held-out photos).
# Every run writes <out>.log (exact command first) and <out>.state (resumable: rerun the script after a kill and
# it continues where it stopped). Uses a CUDA GPU when torch sees one (--device auto); none is needed.
# On this 2-core CPU: caches ~10 min, phase A ~10 min, phase B ~40 min.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-.cache/runs}
THREADS=${THREADS:-2}
mkdir -p .cache/features "$RUNS"
[ -f .cache/features/val_images.pt ] || $PY -m fsplit_mobile.training.features --split val --crops 4 --blocks 5 \
    --images --threads "$THREADS" --out .cache/features/val_images.pt
[ -f .cache/features/train_images.pt ] || $PY -m fsplit_mobile.training.features --split train --crops 40 \
    --mix 0.35 --blocks 5 --images --threads "$THREADS" --out .cache/features/train_images.pt
ARCH=(--stem patch --stem-channels 32 --stages "64;96" --act relu --latent-channels 48 --decoder-width 64
      --decoder-blocks 1 --model-id light-lite0)
[ -f "$RUNS/light_a.pt" ] || $PY -m fsplit_mobile.training.train light "${ARCH[@]}" --kd-weight 0 --lmbda 0.3 \
    --steps 600 --batch-size 16 --lr 1e-3 --val-every 300 --threads "$THREADS" --out "$RUNS/light_a.pt"
[ -f "$RUNS/light_b.pt" ] || $PY -m fsplit_mobile.training.train light --init-from "$RUNS/light_a.pt" \
    --model-id light-lite0 --kd-weight 1 --lmbda 0.25 --steps 1500 --batch-size 16 --lr 5e-4 --val-every 250 --save-every 50 \
    --threads "$THREADS" --out "$RUNS/light_b.pt"
$PY -m fsplit_mobile.evaluation.compare --split val --crops 4 --model "$RUNS/light_b.pt" \
    --json "$RUNS/light_b_val.json" --markdown "$RUNS/light_b_val.md"
