// device.cpp: the CUDA availability queries of core/cuda.h. Without DIFFT_WITH_CUDA they answer
// "none" without touching any CUDA library, so a CPU-only build has no CUDA dependency at all.
#include "core/cuda.h"

namespace difft {

#ifdef DIFFT_WITH_CUDA
namespace cuda {
int runtime_device_count();  // core/cuda/register.cu
}  // namespace cuda
#endif

bool cuda_is_built() {
#ifdef DIFFT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef DIFFT_WITH_CUDA
  return cuda::runtime_device_count();
#else
  return 0;
#endif
}

bool cuda_is_available() { return cuda_device_count() > 0; }

}  // namespace difft
