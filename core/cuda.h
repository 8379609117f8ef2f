// cuda.h: can this process use the CUDA backend? Plain C++ (no CUDA headers), so every target,
// test and app may ask, whether or not difft was built with CUDA.
//
// Three situations, each with its own answer and its own error when a cuda tensor is requested:
//   built without CUDA         cuda_is_built() false; empty(..., cuda) throws "built without the cuda backend"
//   built with CUDA, no GPU    cuda_is_built() true, cuda_device_count() 0; allocation throws "no CUDA device"
//   built with CUDA and a GPU  cuda_is_available() true
#pragma once

namespace difft {

bool cuda_is_built();       // compiled with the CUDA backend (DIFFT_CUDA=ON, or AUTO with nvcc found)
int cuda_device_count();    // devices the CUDA runtime sees; 0 without the backend, driver or a GPU
bool cuda_is_available();   // cuda_device_count() > 0

}  // namespace difft
