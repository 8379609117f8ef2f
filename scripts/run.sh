#!/usr/bin/env bash
# run.sh: the main job. Installs what is missing, builds (scripts/setup.sh), then trains.
# For now that is `difft demo`: a small MLP fitted with the engine's autograd and SGD; the
# DIFF Transformer training command will replace it. Arguments go to `difft demo`
# (bash scripts/run.sh --help lists them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "run: build/apps/difft demo $*"
build/apps/difft demo "$@"
