// cuda_utils.h: error checking for CUDA runtime calls, shared by the .cu files of the backend.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

// DIFFT_CUDA_CHECK(cudaMemcpy(...)) throws difft::Error naming the failed call and the runtime's
// reason. The runtime also records the error as its "last error"; it is cleared here so that a
// later cudaGetLastError() after a kernel launch does not report this stale failure again.
#define DIFFT_CUDA_CHECK(call)                                                             \
  do {                                                                                     \
    const cudaError_t difft_err_ = (call);                                                 \
    if (difft_err_ != cudaSuccess) {                                                       \
      (void)cudaGetLastError();                                                            \
      throw ::difft::Error(::difft::detail::cat_message("cuda: ", #call, " failed: ",      \
                                                        cudaGetErrorString(difft_err_), " (", \
                                                        cudaGetErrorName(difft_err_), ")")); \
    }                                                                                      \
  } while (0)

// After a <<<...>>> launch: reports a bad launch configuration (asynchronous faults surface at the
// next synchronizing call, e.g. the cudaMemcpy that brings results back).
#define DIFFT_CUDA_CHECK_LAUNCH() DIFFT_CUDA_CHECK(cudaGetLastError())
