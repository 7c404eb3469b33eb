#!/usr/bin/env bash
# Design choices of the lightweight encoder (issue 20), each a short two-phase run of scripts/train_light.sh's
# recipe (STEPS_A feature-distillation steps, then STEPS_B steps through the frozen tail) on the same caches, seed
# and budget, compared on the validation split (feature NMSE after phase A; agreement, estimated bytes and NMSE
# after phase B) next to its device MACs. Short runs rank choices; they are not the final models.
# Results: .cache/runs/ablation_*.pt.log; summarised in fsplit_mobile/data/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-.cache/runs}
STEPS_A=${STEPS_A:-150}
STEPS_B=${STEPS_B:-200}
T=(--threads "${THREADS:-2}" --batch-size 16)
run() {
    name=$1; shift
    [ -f "$RUNS/ablation_$name.pt" ] || $PY -m fsplit_mobile.training.train light "${T[@]}" --kd-weight 0 --lmbda 0.3 \
        --steps "$STEPS_A" --lr 1e-3 --val-every "$STEPS_A" --decoder-width 64 --decoder-blocks 1 "$@" \
        --out "$RUNS/ablation_$name.pt"
    [ -f "$RUNS/ablation_${name}_kl.pt" ] || $PY -m fsplit_mobile.training.train light "${T[@]}" --kd-weight 1 \
        --lmbda 0.25 --steps "$STEPS_B" --lr 5e-4 --val-every "$STEPS_B" --init-from "$RUNS/ablation_$name.pt" \
        --out "$RUNS/ablation_${name}_kl.pt"
}
run base     --stem patch   --stem-channels 32 --stages "64;96"  --act relu --latent-channels 48
run strided  --stem strided --stem-channels 32 --stages "64;96"  --act relu --latent-channels 48
run gdn      --stem patch   --stem-channels 32 --stages "64;96"  --act gdn  --latent-channels 48
run narrow   --stem patch   --stem-channels 16 --stages "32;64"  --act relu --latent-channels 48
run latent24 --stem patch   --stem-channels 32 --stages "64;96"  --act relu --latent-channels 24
run deeper   --stem patch   --stem-channels 32 --stages "64,64;96,96" --act relu --latent-channels 48
run dense    --stem patch   --stem-channels 32 --stages ";96"    --act relu --latent-channels 48 --block dense
for f in "$RUNS"/ablation_*.pt.log; do echo "$f: $(grep '^# light encoder' "$f" | grep -o 'device [0-9.]* M MACs = [0-9.]* %') | $(grep '^# final' "$f")"; done
