// matmul.cpp: batched GEMM on OpenBLAS.
//
// out (..., M, N) = a (..., M, K) @ b (..., K, N). Each matrix operand has a unit stride in one of
// its two last dims (the op guarantees it), which maps to a BLAS transpose flag and leading
// dimension: a transposed view is passed as CblasTrans, never copied.
//
// Threading (core/parallel.h): OpenBLAS always runs single-threaded; TBB is the only pool.
//  - one large product is cut into blocks of C, each a single-threaded BLAS call, run in a TBB loop
//    (gemm_blocked below). The blocks depend on the shapes only, so results do not depend on the
//    number of threads. (OpenBLAS's own threads spin for ~0.1 s after each product, fighting the
//    TBB workers of the elementwise kernels that follow: 15-20% of a training step on 2 cores.)
//  - b shared across the batch (a weight) and a's batch rows stacked (stride(batch) = M*lda):
//    fold the batch into M and issue one blocked GEMM of (B*M, K) x (K, N);
//  - few or large matrices: a serial loop of blocked GEMMs;
//  - many small matrices: a TBB loop over the batch, one BLAS call each.
#include <algorithm>
#include <cblas.h>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

struct MatLayout {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};

// Row-major layout of the last two dims (rows, cols) of t.
MatLayout layout(const Tensor& t) {
  const int64_t d = t.dim(), rows = t.shape()[size_t(d - 2)], cols = t.shape()[size_t(d - 1)];
  const int64_t rs = t.strides()[size_t(d - 2)], cs = t.strides()[size_t(d - 1)];
  if (cs == 1 || cols == 1) return {CblasNoTrans, std::max<int64_t>({rs, cols, 1})};
  if (rs == 1 || rows == 1) return {CblasTrans, std::max<int64_t>({cs, rows, 1})};
  throw Error("matmul kernel: operand of shape " + shape_str(t.shape()) + " with strides " + shape_str(t.strides()) +
              " has no unit stride in its last two dims");
}

// c (M × N, ldc) = op(a) op(b): one single-threaded BLAS call.
template <class T>
void gemm(MatLayout la, MatLayout lb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, la.trans, lb.trans, int(M), int(N), int(K), 1.0f, a, int(la.ld), b, int(lb.ld), 0.0f, c, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, la.trans, lb.trans, int(M), int(N), int(K), 1.0, a, int(la.ld), b, int(lb.ld), 0.0, c, int(ldc));
}

// How one product is cut: along the longer of M (rows of C) and N (columns), into `count` blocks
// of `size` (the last one shorter). Blocks of 64 to 256 keep single-threaded BLAS at 90-98% of its
// speed on one whole product (each block re-packs the other operand); at least 4 blocks (and a
// multiple of 4) when the dim allows, so 2 or 4 threads get equal shares. Products under 2^21
// multiply-adds (~20 us) stay one call.
struct Blocks {
  bool rows;
  int64_t size, count;
};
Blocks blocks_of(int64_t M, int64_t N, int64_t K) {
  const bool rows = M >= N;
  const int64_t len = rows ? M : N;
  if (double(M) * double(N) * double(K) < double(1 << 21) || len < 128) return {rows, len, 1};
  constexpr int64_t kMin = 64, kMax = 256, kAlign = 16;
  int64_t count = std::max<int64_t>((len + kMax - 1) / kMax, std::min<int64_t>(4, len / kMin));
  count = (count + 3) / 4 * 4;
  const int64_t size = std::max<int64_t>(kMin, ((len + count - 1) / count + kAlign - 1) / kAlign * kAlign);
  return {rows, size, (len + size - 1) / size};
}

// c (M × N, ldc) = op(a) op(b) as independent blocks of C on the TBB pool (see blocks_of).
template <class T>
void gemm_blocked(MatLayout la, MatLayout lb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c, int64_t ldc) {
  const Blocks bl = blocks_of(M, N, K);
  if (bl.count == 1) {
    gemm<T>(la, lb, M, N, K, a, b, c, ldc);
    return;
  }
  parallel_for(0, bl.count, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t start = i * bl.size, len = std::min(bl.size, (bl.rows ? M : N) - start);
      if (bl.rows)  // rows start.. of op(a): row `start` of a, or column `start` of a stored transposed
        gemm<T>(la, lb, len, N, K, a + (la.trans == CblasNoTrans ? start * la.ld : start), b, c + start * ldc, ldc);
      else  // columns start.. of op(b)
        gemm<T>(la, lb, M, len, K, a, b + (lb.trans == CblasNoTrans ? start : start * lb.ld), c + start, ldc);
    }
  });
}

template <class T>
void matmul_impl(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t d = out.dim(), M = out.shape()[size_t(d - 2)], N = out.shape()[size_t(d - 1)], K = a.shape()[size_t(d - 1)];
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: zeros
    std::fill(pc, pc + out.numel(), T(0));
    return;
  }
  const MatLayout la = layout(a), lb = layout(b);
  const Shape batch(out.shape().begin(), out.shape().end() - 2);
  const int64_t nb = shape_numel(batch);

  // Fold: b identical for every batch entry, a's batch entries stacked rows of one matrix.
  bool b_shared = true, a_stacked = la.trans == CblasNoTrans;
  int64_t expect = M * la.ld;
  for (int64_t i = int64_t(batch.size()) - 1; i >= 0; --i) {
    if (batch[size_t(i)] == 1) continue;
    b_shared = b_shared && b.strides()[size_t(i)] == 0;
    a_stacked = a_stacked && a.strides()[size_t(i)] == expect;
    expect *= batch[size_t(i)];
  }
  if (nb == 1 || (b_shared && a_stacked)) {
    gemm_blocked<T>(la, lb, nb * M, N, K, pa, pb, pc, N);
    return;
  }

  // Per-batch-entry offsets of a and b.
  std::vector<int64_t> oa(static_cast<size_t>(nb)), ob(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rem = i, x = 0, y = 0;
    for (int64_t k = int64_t(batch.size()) - 1; k >= 0; --k) {
      const int64_t idx = rem % batch[size_t(k)];
      rem /= batch[size_t(k)];
      x += idx * a.strides()[size_t(k)], y += idx * b.strides()[size_t(k)];
    }
    oa[size_t(i)] = x, ob[size_t(i)] = y;
  }
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (flops < 2.0 * 256 * 256 * 256) {
    parallel_for(0, nb, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gemm<T>(la, lb, M, N, K, pa + oa[size_t(i)], pb + ob[size_t(i)], pc + i * M * N, N);
    });
  } else {
    for (int64_t i = 0; i < nb; ++i) gemm_blocked<T>(la, lb, M, N, K, pa + oa[size_t(i)], pb + ob[size_t(i)], pc + i * M * N, N);
  }
}

void cpu_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  num_threads();  // the first call pins OpenBLAS to 1 thread, before any product runs
  dispatch_float(out.dtype(), "matmul", [&](auto t) { matmul_impl<decltype(t)>(a, b, out); });
}

}  // namespace

void register_matmul(Kernels& k) { k.matmul = cpu_matmul; }

}  // namespace difft::cpu
