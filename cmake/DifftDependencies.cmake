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

# CUDA: AUTO turns it on when nvcc can be found (on PATH or in /usr/local/cuda) and can build a
# CUDA program here; ON insists (and fails loudly); OFF never looks. An explicit
# -DCMAKE_CUDA_COMPILER=/path/to/nvcc is used as given.
set(DIFFT_CUDA_ENABLED OFF)
if(NOT DIFFT_CUDA STREQUAL "OFF")
  find_program(DIFFT_NVCC nvcc HINTS /usr/local/cuda/bin)
  if(NOT CMAKE_CUDA_COMPILER AND DIFFT_NVCC)
    if(DIFFT_CUDA STREQUAL "AUTO")
      # AUTO must never break a build that OFF would pass (say nvcc rejects this host compiler),
      # so try nvcc in a scratch project first. The verdict is cached in CMAKE_CUDA_COMPILER
      # (NOTFOUND on failure); delete the cache to retry.
      set(ENV{CUDACXX} "${DIFFT_NVCC}")
      include(CheckLanguage)
      check_language(CUDA)
      unset(ENV{CUDACXX})
      if(NOT CMAKE_CUDA_COMPILER)
        message(WARNING "DIFFT_CUDA=AUTO: ${DIFFT_NVCC} cannot build a CUDA program here "
                        "(see CMakeFiles/CMakeError.log); building without the CUDA backend. "
                        "Use -DDIFFT_CUDA=ON to see the compiler's error; the verdict is cached: "
                        "remove CMAKE_CUDA_COMPILER from the cache to retry.")
      endif()
    else()
      set(CMAKE_CUDA_COMPILER ${DIFFT_NVCC})
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER)
    if(IS_ABSOLUTE "${CMAKE_CUDA_COMPILER}" AND NOT EXISTS "${CMAKE_CUDA_COMPILER}")
      message(FATAL_ERROR "CMAKE_CUDA_COMPILER=${CMAKE_CUDA_COMPILER} does not exist")
    endif()
    enable_language(CUDA)
    # CMake < 3.26 knows no C++20 flag for nvcc, and CUDA targets inherit CXX_STANDARD 20, so
    # generation fails ("requires the language dialect CUDA20"). nvcc >= 12 accepts -std=c++20.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(DIFFT_CUDA_ENABLED ON)
  elseif(DIFFT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DIFFT_CUDA=ON but nvcc was not found; install the CUDA toolkit or use AUTO/OFF")
  endif()
endif()
