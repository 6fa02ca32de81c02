#!/usr/bin/env bash
# Install rnnkit, train a character language model on the .py files of Python's own
# standard library for a few minutes, and generate text with it.
# Usage: bash scripts/demo.sh [SECONDS]   (training time, default 180)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
SECONDS_OF_TRAINING="${1:-180}"
rnnkit train lm --out runs/stdlib-lm --overwrite --max-time "$SECONDS_OF_TRAINING" \
    --num-layers 1 --hidden-size 384 --seq-length 64 --batch-size 32 --lr 0.003 \
    --valid-fraction 0.01 --val-every-n-steps 250 --no-progress-bar
rnnkit generate runs/stdlib-lm --prime "def " --length 600 --temperature 0.5 --seed 0
