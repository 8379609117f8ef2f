// bench_elementwise.cpp: memory-bound ops of the engine against memcpy bandwidth.
//
// Every benchmark runs on 1M, 4M and 16M float32 elements (4, 16, 64 MB per tensor) and reports
// bytes processed, counting each tensor read or written once (so Google Benchmark prints a
// bandwidth):
//   memcpy           std::memcpy between two preallocated, already touched buffers: read + write
//                    (one thread; the reference for the ">= 50% of memcpy" target)
//   memcpy_threads   the same copy split over the engine's threads (difft::parallel_for), to show
//                    what the machine gives with the engine's thread count
//   add              c = a + b, contiguous, no autograd: read a, b, write c
//   softmax_fwd      y = softmax(x) over rows of 1024, no autograd: read x, write y
//   softmax_fwdbwd   forward with autograd, then y.backward(gy): read x, write y; read y, gy,
//                    write gx
//   rmsnorm_fwd      y = rms_norm(x, w) over rows of 1024 (w, 4 KB, not counted): read x, write y
//   rmsnorm_fwdbwd   forward with autograd, then backward into x and w: read x, write y;
//                    read x, gy, write gx
// What is timed in the engine benchmarks is what a user pays: output allocation (fresh tensors
// every iteration), argument checks, dispatch, and for *_fwdbwd the graph construction, the
// engine's traversal and the gradient hand-off into x.grad (reset each iteration with zero_grad so
// no accumulation pass is added). Inputs and gy are created once, outside the timed loop.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace {

using difft::Tensor;

constexpr int64_t kRow = 1024;  // softmax / rms_norm row length
constexpr int64_t kF = int64_t(sizeof(float));

Tensor randn(const difft::Shape& s, uint64_t seed) {
  difft::Generator g(seed);
  return difft::randn(s, g);
}

void set_bytes(benchmark::State& state, int64_t tensors, int64_t n) {
  state.SetBytesProcessed(int64_t(state.iterations()) * tensors * n * kF);
}

void BM_memcpy(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor src = randn({n}, 1), dst = difft::zeros({n});
  for (auto _ : state) {
    std::memcpy(dst.raw_data(), src.raw_data(), size_t(n * kF));
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2, n);
}

void BM_memcpy_threads(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor src = randn({n}, 1), dst = difft::zeros({n});
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  for (auto _ : state) {
    difft::parallel_for(0, n, 1 << 18, [&](int64_t lo, int64_t hi) { std::memcpy(d + lo, s + lo, size_t((hi - lo) * kF)); });
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2, n);
}

void BM_add(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = randn({n}, 1), b = randn({n}, 2);
  difft::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor c = a + b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_bytes(state, 3, n);
}

void BM_softmax_fwd(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = randn({n / kRow, kRow}, 1);
  difft::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = difft::softmax(x, -1);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_bytes(state, 2, n);
}

void BM_softmax_fwdbwd(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = randn({n / kRow, kRow}, 1).requires_grad_(), gy = randn({n / kRow, kRow}, 2);
  for (auto _ : state) {
    x.zero_grad();
    Tensor y = difft::softmax(x, -1);
    y.backward(gy);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
  set_bytes(state, 5, n);
}

void BM_rmsnorm_fwd(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = randn({n / kRow, kRow}, 1), w = randn({kRow}, 3);
  difft::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = difft::rms_norm(x, w);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_bytes(state, 2, n);
}

void BM_rmsnorm_fwdbwd(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = randn({n / kRow, kRow}, 1).requires_grad_(), gy = randn({n / kRow, kRow}, 2);
  const Tensor w = randn({kRow}, 3).requires_grad_();
  for (auto _ : state) {
    x.zero_grad();
    w.zero_grad();
    Tensor y = difft::rms_norm(x, w);
    y.backward(gy);
    benchmark::DoNotOptimize(x.grad().raw_data());
    benchmark::DoNotOptimize(w.grad().raw_data());
  }
  set_bytes(state, 5, n);
}

// 1M, 4M, 16M elements; wall-clock time because the engine's kernels run on several threads.
void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_memcpy)->Apply(sizes);
BENCHMARK(BM_memcpy_threads)->Apply(sizes);
BENCHMARK(BM_add)->Apply(sizes);
BENCHMARK(BM_softmax_fwd)->Apply(sizes);
BENCHMARK(BM_softmax_fwdbwd)->Apply(sizes);
BENCHMARK(BM_rmsnorm_fwd)->Apply(sizes);
BENCHMARK(BM_rmsnorm_fwdbwd)->Apply(sizes);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("difft_threads", std::to_string(difft::num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
