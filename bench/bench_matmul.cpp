// bench_matmul.cpp: difft::matmul (float32) against a raw cblas_sgemm on the same shapes.
//
// Each shape is timed twice:
//   engine/<shape>  c = difft::matmul(a, b) inside a NoGradGuard. The output is allocated every
//                   iteration, as a user pays it; argument checks, the layout analysis and the
//                   dispatch are included.
//   raw/<shape>     one cblas_sgemm on the same a and b buffers into a preallocated c: the floor
//                   the engine is measured against (target: engine time <= 1.05 x raw).
// Both run with the engine's thread count (difft::num_threads()): the engine on its TBB pool, the
// raw call on OpenBLAS's own threads. Timed in wall-clock time (UseRealTime).
// GFLOP/s = 2*M*N*K per product. Before timing, each engine result is checked against the raw
// result so a wrong fast path cannot pass unnoticed.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace {

using difft::Tensor;

// One product: x (batch..., M, K) @ w, the raw call being one GEMM of (M_total, K) x (K, N).
struct Case {
  std::string name;
  Tensor x, w;         // engine operands (w may be a transposed view)
  Tensor w_storage;    // the buffer w views, as BLAS sees it
  CBLAS_TRANSPOSE tw;  // how the raw call reads w_storage
  int64_t M, N, K;     // M folds every batch dim of x
};

Tensor randn(const difft::Shape& s, uint64_t seed) {
  difft::Generator g(seed);
  return difft::randn(s, g);
}

Case square(int64_t n) {
  return {"square_" + std::to_string(n), randn({n, n}, 1), randn({n, n}, 2), {}, CblasNoTrans, n, n, n};
}

// (rows, C) @ (C, 4C): a transformer MLP up-projection with the weight stored (in, out).
Case mlp(int64_t rows, int64_t C) {
  return {"mlp_" + std::to_string(rows) + "x" + std::to_string(C) + "_x_" + std::to_string(C) + "x" + std::to_string(4 * C),
          randn({rows, C}, 3), randn({C, 4 * C}, 4), {}, CblasNoTrans, rows, 4 * C, C};
}

// x (8, 256, 256) @ W (256, 1024): the batch folds into one GEMM of (2048, 256) x (256, 1024).
Case batched3d() {
  return {"batched_8x256x256_x_256x1024", randn({8, 256, 256}, 5), randn({256, 1024}, 6), {}, CblasNoTrans, 8 * 256, 1024, 256};
}

// x (rows, C) @ W.t() with W stored (4C, C) as nn.Linear does: the transpose is a BLAS flag.
Case linear_t(int64_t rows, int64_t C) {
  Tensor W = randn({4 * C, C}, 7);
  return {"linearT_" + std::to_string(rows) + "x" + std::to_string(C) + "_x_(" + std::to_string(4 * C) + "x" + std::to_string(C) + ").t",
          randn({rows, C}, 8), W.t(), W, CblasTrans, rows, 4 * C, C};
}

void raw_sgemm(const Case& c, float* out) {
  const Tensor& w = c.w_storage.defined() ? c.w_storage : c.w;
  const int ldw = int(w.size(-1));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, c.tw, int(c.M), int(c.N), int(c.K), 1.0f, c.x.data<float>(), int(c.K),
              w.data<float>(), ldw, 0.0f, out, int(c.N));
}

void set_flops(benchmark::State& state, const Case& c) {
  const double flops = 2.0 * double(c.M) * double(c.N) * double(c.K);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

void bm_engine(benchmark::State& state, const Case& c) {
  difft::NoGradGuard no_grad;
  {  // the engine must agree with the raw product (same BLAS, so up to summation order)
    Tensor ref = difft::empty({c.M, c.N});
    raw_sgemm(c, ref.data<float>());
    const Tensor got = difft::matmul(c.x, c.w).reshape({c.M, c.N});
    const float* p = got.data<float>();
    const float* q = ref.data<float>();
    float worst = 0;
    for (int64_t i = 0; i < c.M * c.N; ++i) worst = std::max(worst, std::abs(p[i] - q[i]));
    if (worst > 1e-3f) {
      state.SkipWithError(("engine result differs from sgemm by " + std::to_string(worst)).c_str());
      return;
    }
  }
  for (auto _ : state) {
    Tensor out = difft::matmul(c.x, c.w);
    benchmark::DoNotOptimize(out.raw_data());
    benchmark::ClobberMemory();
  }
  set_flops(state, c);
}

void bm_raw(benchmark::State& state, const Case& c) {
  // OpenBLAS is kept at 1 thread by the engine's policy (core/parallel.h); the baseline gets the
  // same number of threads the engine uses, through OpenBLAS's own pool.
  difft::BlasThreadsGuard threads(difft::num_threads());
  Tensor out = difft::zeros({c.M, c.N});  // preallocated and touched once
  float* po = out.data<float>();
  for (auto _ : state) {
    raw_sgemm(c, po);
    benchmark::DoNotOptimize(po);
    benchmark::ClobberMemory();
  }
  set_flops(state, c);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("difft_threads", std::to_string(difft::num_threads()));  // also sets BLAS threads
  static const Case cases[] = {square(256),   square(512),   square(1024),        square(2048),
                               mlp(2048, 256), mlp(2048, 512), batched3d(),
                               linear_t(2048, 256), linear_t(2048, 512)};
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(("engine/" + c.name).c_str(), bm_engine, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("raw/" + c.name).c_str(), bm_raw, c)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
