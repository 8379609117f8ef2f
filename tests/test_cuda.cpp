// test_cuda.cpp: the CUDA seam. Always built. Which cases can run depends on the machine:
//   - no usable GPU (CPU-only build, or a CUDA build on a machine without a device/driver):
//     requesting a cuda tensor fails with a clear difft::Error, never a crash;
//   - a GPU: host<->device copies (contiguous, strided, converting) and fill are exact, and ops
//     without a CUDA kernel yet fail with the dispatch seam's "no cuda:0 kernel" message.
// Each GPU case prints whether it ran or was skipped, so a CI log shows which half was exercised.
#include <cstdint>
#include <string>

#include "core/cuda.h"
#include "core/dispatch.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

// Prints the skip and returns false when there is no GPU: `if (!gpu_case("...")) return;`
bool gpu_case(const char* name) {
  if (cuda_is_available()) return true;
  MESSAGE("skipped (no CUDA device): " << std::string(name));
  return false;
}

const Device kGpu = Device::cuda(0);

}  // namespace

TEST_CASE("cuda: availability queries agree with the build") {
  MESSAGE("cuda built: " << cuda_is_built() << ", devices: " << cuda_device_count());
#ifdef DIFFT_WITH_CUDA
  CHECK(cuda_is_built());
#else
  CHECK_FALSE(cuda_is_built());
  CHECK(cuda_device_count() == 0);
#endif
  CHECK(cuda_is_available() == (cuda_device_count() > 0));
  CHECK(cuda_device_count() >= 0);
}

TEST_CASE("cuda: the kernel table holds exactly the kernels the backend implements") {
#ifdef DIFFT_WITH_CUDA
  // Runs without a GPU: registration only stores pointers.
  const Kernels& k = kernels(DeviceType::CUDA);
  CHECK(bool(k.alloc));
  CHECK(bool(k.free));
  CHECK(bool(k.copy));
  CHECK(bool(k.fill));
  CHECK_FALSE(bool(k.binary));  // when CUDA kernels land, this list moves with them
  CHECK_FALSE(bool(k.unary));
  CHECK_FALSE(bool(k.matmul));
#else
  CHECK_THROWS_WITH_PART(kernels(DeviceType::CUDA), "built without the cuda backend");
#endif
}

TEST_CASE("cuda: without a usable device, cuda tensors fail with a clear error") {
  if (cuda_is_available()) {
    MESSAGE("skipped (a CUDA device is present): the no-device errors");
    return;
  }
  MESSAGE("running the no-device checks");
  CHECK(cuda_device_count() == 0);
#ifdef DIFFT_WITH_CUDA
  const char* why = "no CUDA device is available";
#else
  const char* why = "difft was built without the cuda backend";
#endif
  CHECK_THROWS_WITH_PART(empty({2}, {DType::Float32, kGpu}), why);
  CHECK_THROWS_WITH_PART(zeros({2, 3}, {DType::Float64, kGpu}), why);
  CHECK_THROWS_WITH_PART(tensor({1.0, 2.0}).to(kGpu), why);
  CHECK_THROWS_WITH_PART(from_vector(std::vector<int64_t>{1, 2}, {}, {DType::Int64, kGpu}), why);
}

TEST_CASE("cuda: cpu -> cuda -> cpu round trips are exact in every dtype") {
  if (!gpu_case("round trips")) return;
  // Values that any conversion through another type would perturb.
  const std::vector<double> vd{0.1, -1e-300, 1e300, 3.0, -0.0, 1.0 / 3.0};
  Tensor d = from_vector(vd, {2, 3}, {DType::Float64});
  Tensor dg = d.to(kGpu);
  CHECK(dg.device() == kGpu);
  CHECK(dg.shape() == Shape{2, 3});
  CHECK(dg.to(Device::cpu()).to_vector<double>() == d.to_vector<double>());

  const std::vector<float> vf{0.1f, -1e-30f, 1e30f, 3.0f, 1.0f / 3.0f, 7.5f};
  Tensor f = from_vector(vf, {3, 2}, {DType::Float32, kGpu});  // factory straight onto the GPU
  CHECK(f.device() == kGpu);
  CHECK(f.to(Device::cpu()).to_vector<float>() == vf);

  const std::vector<int64_t> vi{(int64_t(1) << 53) + 1, -7, 0, INT64_MAX, INT64_MIN};
  Tensor i = from_vector(vi, {}, {DType::Int64, kGpu});
  CHECK(i.to(Device::cpu()).to_vector<int64_t>() == vi);

  // device -> device (same dtype, contiguous: cudaMemcpy)
  CHECK(dg.clone().to(Device::cpu()).to_vector<double>() == d.to_vector<double>());
  // empty tensors move without touching memory
  CHECK(zeros({0, 3}, {DType::Float32, kGpu}).to(Device::cpu()).numel() == 0);
}

TEST_CASE("cuda: strided and broadcast copies in every direction") {
  if (!gpu_case("strided copies")) return;
  Tensor a = arange(0, 12, 1, {DType::Float64}).view({3, 4});  // a[r][c] = 4r + c
  const std::vector<double> at = a.t().contiguous().to_vector<double>();

  // strided host source -> device (staged through a contiguous host copy)
  CHECK(a.t().to(kGpu).to(Device::cpu()).to_vector<double>() == at);
  // strided device source -> host (strided GPU kernel, then cudaMemcpy)
  Tensor g = a.to(kGpu);
  CHECK(g.t().to(Device::cpu()).to_vector<double>() == at);
  // device -> device, strided source
  CHECK(g.t().contiguous().to(Device::cpu()).to_vector<double>() == at);
  // device -> strided host destination
  Tensor h = zeros({4, 3}, {DType::Float64});
  h.t().copy_(g);
  CHECK(h.to_vector<double>() == at);
  // host -> strided device destination
  Tensor gd = zeros({4, 3}, {DType::Float64, kGpu});
  gd.t().copy_(a);
  CHECK(gd.to(Device::cpu()).to_vector<double>() == at);
  // a column slice (offset and stride) of a device tensor
  CHECK(g.slice(1, 1, 3).to(Device::cpu()).to_vector<double>() == std::vector<double>{1, 2, 5, 6, 9, 10});
  // broadcast (stride-0) sources, from the host and from the device
  Tensor row = tensor({1.0, 2.0, 3.0}, {DType::Float64});
  Tensor b = empty({2, 3}, {DType::Float64, kGpu});
  b.copy_(row);
  CHECK(b.to(Device::cpu()).to_vector<double>() == std::vector<double>{1, 2, 3, 1, 2, 3});
  Tensor b2 = zeros({2, 3}, {DType::Float64, kGpu});
  b2.copy_(row.to(kGpu));
  CHECK(b2.to(Device::cpu()).to_vector<double>() == std::vector<double>{1, 2, 3, 1, 2, 3});
}

TEST_CASE("cuda: dtype conversion on the device") {
  if (!gpu_case("dtype conversion")) return;
  Tensor d = tensor({1.5, -2.25, 3.0, 1e10}, {DType::Float64, kGpu});
  // float64 -> float32: all four values are exactly representable in float32
  CHECK(d.to(DType::Float32).to(Device::cpu()).to_vector<double>() == std::vector<double>{1.5, -2.25, 3.0, 1e10});
  // float -> int64 truncates toward zero, as static_cast does on the CPU
  CHECK(d.to(DType::Int64).to(Device::cpu()).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3, 10000000000});
  // bfloat16 lives only on the GPU; these values need at most 8 significant bits
  Tensor bf = tensor({1.5, -2.25, 3.0, 0.125}, {DType::Float32, kGpu}).to(DType::BFloat16);
  CHECK(bf.dtype() == DType::BFloat16);
  // (the CPU cannot hold bfloat16, so it comes back as float32, converted on the device)
  CHECK(bf.to(DType::Float32).to_vector<double>() == std::vector<double>{1.5, -2.25, 3.0, 0.125});
  CHECK_THROWS_WITH_PART(bf.to(Device::cpu()), "bfloat16 is only supported on cuda");
  // converting while moving to a strided host destination
  Tensor h = zeros({2, 2}, {DType::Float32});
  h.t().copy_(d.view({2, 2}));
  CHECK(h.to_vector<double>() == std::vector<double>{1.5, 3.0, -2.25, 1e10});
}

TEST_CASE("cuda: fill, contiguous and strided") {
  if (!gpu_case("fill")) return;
  CHECK(full({2, 3}, 2.5, {DType::Float32, kGpu}).to_vector<double>() == std::vector<double>(6, 2.5));
  CHECK(full({5}, -0.1, {DType::Float64, kGpu}).to_vector<double>() == std::vector<double>(5, -0.1));
  CHECK(full({3}, 42, {DType::Int64, kGpu}).to_vector<int64_t>() == std::vector<int64_t>(3, 42));
  // a large fill crosses many blocks of the grid-stride loop
  CHECK(ones({1 << 20}, {DType::Float32, kGpu}).to_vector<float>() == std::vector<float>(1 << 20, 1.0f));
  Tensor z = zeros({3, 4}, {DType::Float64, kGpu});
  z.slice(1, 1, 3).fill_(7);
  CHECK(z.to_vector<double>() == std::vector<double>{0, 7, 7, 0, 0, 7, 7, 0, 0, 7, 7, 0});
  z.t().select(0, 0).fill_(-1);  // column 0 through a transposed view
  CHECK(z.to_vector<double>() == std::vector<double>{-1, 7, 7, 0, -1, 7, 7, 0, -1, 7, 7, 0});
}

TEST_CASE("cuda: ops without a CUDA kernel fail at the dispatch seam") {
  if (!gpu_case("missing kernels")) return;
  Tensor a = ones({2, 2}, {DType::Float32, kGpu}), b = ones({2, 2}, {DType::Float32, kGpu});
  CHECK_THROWS_WITH_PART(add(a, b), "add: no cuda:0 kernel for 'binary'");
  CHECK_THROWS_WITH_PART(exp(a), "no cuda:0 kernel for 'unary'");
  CHECK_THROWS_WITH_PART(matmul(a, b), "no cuda:0 kernel for 'matmul'");
}

TEST_CASE("cuda: devices other than cuda:0 are refused, not silently mixed up") {
  if (!gpu_case("cuda:1 refusal")) return;
  CHECK_THROWS_WITH_PART(zeros({2}, {DType::Float32, Device::cuda(1)}), "supports only cuda:0");
}
