# Finds every external dependency. All come from Debian packages (scripts/setup.sh installs them):
#   libopenblas-dev  -> OpenBLAS, found with pkg-config and verified to be OpenBLAS (not reference BLAS)
#   libtbb-dev       -> oneTBB (TBB::tbb)
#   nlohmann-json3-dev -> JSON for safetensors headers and config files
#   doctest-dev      -> doctest (tests only)
#   libbenchmark-dev -> Google Benchmark (bench only)
#   nvcc + cuBLAS    -> optional CUDA backend (DIFFT_CUDA)
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)

# The reference BLAS also exports cblas_sgemm, and a wrong alternatives link would silently pick it
# (10-50x slower). openblas_get_config exists only in OpenBLAS, so linking it proves what we got.
include(CheckSymbolExists)
include(CMakePushCheckState)
cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_INCLUDES ${OPENBLAS_INCLUDE_DIRS})
set(CMAKE_REQUIRED_LINK_OPTIONS ${OPENBLAS_LDFLAGS})
set(CMAKE_REQUIRED_LIBRARIES ${OPENBLAS_LINK_LIBRARIES})
check_symbol_exists(openblas_get_config "cblas.h" DIFFT_HAVE_OPENBLAS_CONFIG)
cmake_pop_check_state()
if(NOT DIFFT_HAVE_OPENBLAS_CONFIG)
  message(FATAL_ERROR "The BLAS found by pkg-config is not OpenBLAS (no openblas_get_config). "
                      "Install libopenblas-dev: scripts/setup.sh does it.")
endif()

find_package(TBB REQUIRED COMPONENTS tbb)
find_package(nlohmann_json 3 REQUIRED)  # nlohmann-json3-dev: the safetensors JSON header
find_package(Threads REQUIRED)

if(DIFFT_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
if(DIFFT_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# CUDA: AUTO turns it on when nvcc can be found (on PATH or in /usr/local/cuda).
set(DIFFT_CUDA_ENABLED OFF)
if(NOT DIFFT_CUDA STREQUAL "OFF")
  find_program(DIFFT_NVCC nvcc HINTS /usr/local/cuda/bin)
  if(DIFFT_NVCC)
    if(NOT CMAKE_CUDA_COMPILER)
      set(CMAKE_CUDA_COMPILER ${DIFFT_NVCC})
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(DIFFT_CUDA_ENABLED ON)
  elseif(DIFFT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DIFFT_CUDA=ON but nvcc was not found; install the CUDA toolkit or use AUTO/OFF")
  endif()
endif()
