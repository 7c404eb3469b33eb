#!/usr/bin/env bash
# Design choices of the lightweight encoder (issue 20), each a short feature-distillation run (phase A of
# scripts/train_light.sh, --kd-weight 0) on the same caches, seed and budget, compared on the validation split
# (feature NMSE, agreement, estimated bytes) next to its device MACs. Short runs rank choices; they are not the
# final models. Results: .cache/runs/ablation_*.pt.log; summarised in fsplit_mobile/data/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-.cache/runs}
STEPS=${STEPS:-200}
COMMON=(--kd-weight 0 --lmbda 0.3 --steps "$STEPS" --batch-size 16 --lr 1e-3 --val-every "$STEPS"
        --decoder-width 64 --decoder-blocks 1 --threads "${THREADS:-2}")
run() { name=$1; shift; [ -f "$RUNS/ablation_$name.pt" ] || $PY -m fsplit_mobile.training.train light "${COMMON[@]}" "$@" \
    --out "$RUNS/ablation_$name.pt"; }
run base     --stem patch   --stem-channels 32 --stages "64;96"  --act relu --latent-channels 48
run strided  --stem strided --stem-channels 32 --stages "64;96"  --act relu --latent-channels 48
run gdn      --stem patch   --stem-channels 32 --stages "64;96"  --act gdn  --latent-channels 48
run narrow   --stem patch   --stem-channels 16 --stages "32;64"  --act relu --latent-channels 48
run latent24 --stem patch   --stem-channels 32 --stages "64;96"  --act relu --latent-channels 24
run deeper   --stem patch   --stem-channels 32 --stages "64,64;96,96" --act relu --latent-channels 48
for f in "$RUNS"/ablation_*.pt.log; do echo "$f: $(grep '^# light encoder' "$f" | grep -o 'device [0-9.]* M MACs = [0-9.]* %') | $(grep '^# final' "$f")"; done
