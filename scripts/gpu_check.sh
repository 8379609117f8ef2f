#!/usr/bin/env bash
# gpu_check.sh: on a machine with an NVIDIA GPU, build difft with the CUDA backend (DIFFT_CUDA=ON)
# and run the whole test suite, then make sure the CUDA suite ran its GPU cases instead of
# skipping them. Exits non-zero on any failure.
#
#   scripts/gpu_check.sh [build-dir]        (default: build-gpu)
#   DIFFT_CUDA_ARCHS=90 scripts/gpu_check.sh  (default: native when nvidia-smi exists, else 80;90)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}

if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  archs=${DIFFT_CUDA_ARCHS:-native}
else
  echo "gpu_check: nvidia-smi not found; the GPU cases will likely be skipped"
  archs=${DIFFT_CUDA_ARCHS:-80;90}
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DDIFFT_CUDA=ON -DDIFFT_CUDA_ARCHITECTURES="$archs" \
      -DDIFFT_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

# ctest passes when the GPU cases skip themselves, so check which half of test_cuda ran.
out=$("$build/tests/test_cuda" 2>&1)
grep "MESSAGE" <<<"$out" || true
if grep -q "skipped (no CUDA device)" <<<"$out"; then
  echo "gpu_check: FAIL: test_cuda saw no CUDA device, so its GPU cases did not run"
  exit 1
fi
echo "gpu_check: OK (CUDA build, all tests passed, GPU cases ran)"
