#!/usr/bin/env bash
# run.sh: the main job. Installs what is missing, builds (scripts/setup.sh), then trains a small
# DIFF Transformer on the bundled tinyshakespeare with byte-level tokens (about 10 minutes on two
# cores), showing progress, and samples from it. Arguments go to `difft train` and override the
# defaults below (bash scripts/run.sh --steps 200 for a quick look; difft train --help for all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
out=runs/shakespeare-diff
args=(--model diff --data data/tinyshakespeare.txt --out "$out" --steps 2400 --d-model 128 --layers 4 --heads 8
      --seq 128 --batch 16 --lr 2e-3 --min-lr 2e-4 --warmup 100 --eval-every 200 --log-every 50 "$@")
echo "run: build/apps/difft train ${args[*]}"
build/apps/difft train "${args[@]}"
echo "run: build/apps/difft sample --ckpt $out/best --prompt ROMEO: --tokens 400"
build/apps/difft sample --ckpt "$out/best" --prompt "ROMEO:" --tokens 400 --temperature 0.8
