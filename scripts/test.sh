#!/usr/bin/env bash
# test.sh: installs what is missing, builds (scripts/setup.sh), then runs every test with CTest.
# Usage: bash scripts/test.sh [ctest args...]   e.g. bash scripts/test.sh -R smoke
# Configure options go through the environment (DIFFT_CUDA, DIFFT_CMAKE_ARGS; see setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "test: ctest --test-dir build --output-on-failure -j2 $*"
ctest --test-dir build --output-on-failure -j2 "$@"
