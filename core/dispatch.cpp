#include "core/dispatch.h"

#include <mutex>

namespace difft {

void register_cpu_kernels(Kernels& k);  // core/cpu/register.cpp
#ifdef DIFFT_WITH_CUDA
void register_cuda_kernels(Kernels& k);  // core/cuda/register.cu
#endif

namespace {
struct Tables {
  Kernels by_device[kNumDeviceTypes];
  bool present[kNumDeviceTypes] = {};
};
Tables& tables() {
  static Tables t;
  static std::once_flag once;
  std::call_once(once, [] {
    register_cpu_kernels(t.by_device[int(DeviceType::CPU)]);
    t.present[int(DeviceType::CPU)] = true;
#ifdef DIFFT_WITH_CUDA
    register_cuda_kernels(t.by_device[int(DeviceType::CUDA)]);
    t.present[int(DeviceType::CUDA)] = true;
#endif
  });
  return t;
}
}  // namespace

const Kernels& kernels(DeviceType device) {
  Tables& t = tables();
  DIFFT_CHECK(t.present[int(device)], "dispatch: difft was built without the ",
              Device{device, 0}.str().substr(0, 4), " backend (configure with -DDIFFT_CUDA=ON)");
  return t.by_device[int(device)];
}

Kernels& mutable_kernels(DeviceType device) { return tables().by_device[int(device)]; }

}  // namespace difft
