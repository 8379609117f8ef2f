#!/usr/bin/env bash
# setup.sh: makes this checkout ready to use on Debian 12 (run as root). Idempotent.
#   1. installs the Debian packages that are missing (nothing when all are there);
#   2. configures build/ with CMake + Ninja (Release) and builds it.
#
# Usage: bash scripts/setup.sh [extra cmake args...]
#   DIFFT_CUDA=AUTO|ON|OFF  CUDA backend (default AUTO: on when nvcc is found)
#   DIFFT_CMAKE_ARGS="..."  more cmake args (word-split), e.g. "-DDIFFT_NATIVE=OFF"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# python3 is for bench/compare.py; the rest build the library, its tests and benchmarks.
packages=(cmake ninja-build g++ pkg-config libopenblas-dev libtbb-dev doctest-dev libbenchmark-dev nlohmann-json3-dev python3)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: installing packages needs root (run as root, or install them yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: packages present"
fi

# A build/ made by another generator cannot be reconfigured with Ninja: drop its cache only.
if [[ -f build/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' build/CMakeCache.txt; then
  echo "setup: build/ was configured with another generator; removing its CMake cache"
  rm -rf build/CMakeCache.txt build/CMakeFiles
fi

read -r -a env_args <<< "${DIFFT_CMAKE_ARGS:-}"
cmake_args=(-S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DDIFFT_CUDA=${DIFFT_CUDA:-AUTO}" "${env_args[@]}" "$@")
echo "setup: cmake ${cmake_args[*]}"
mkdir -p build
if ! cmake "${cmake_args[@]}" > build/configure.log 2>&1; then
  cat build/configure.log >&2
  echo "setup: configure failed (log above, also in build/configure.log)" >&2
  exit 1
fi
grep -E '^-- difft:' build/configure.log || true  # the one-line summary from CMakeLists.txt

echo "setup: cmake --build build"
start=$SECONDS
cmake --build build
echo "setup: built in $((SECONDS - start)) s"
