// matmul.cpp: batched GEMM on OpenBLAS.
//
// out (..., M, N) = a (..., M, K) @ b (..., K, N). Each matrix operand has a unit stride in one of
// its two last dims (the op guarantees it), which maps to a BLAS transpose flag and leading
// dimension: a transposed view is passed as CblasTrans, never copied.
//
// Batch strategy (see core/parallel.h for the threading policy):
//  - b shared across the batch (a weight) and a's batch rows stacked (stride(batch) = M*lda):
//    fold the batch into M and issue one GEMM of (B*M, K) x (K, N), with BLAS threads;
//  - few or large matrices: a serial loop of GEMMs, each with BLAS threads;
//  - many small matrices: a TBB loop over the batch with BLAS pinned to one thread.
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

template <class T>
void gemm(MatLayout la, MatLayout lb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T* c) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, la.trans, lb.trans, int(M), int(N), int(K), 1.0f, a, int(la.ld), b, int(lb.ld), 0.0f, c, int(N));
  else
    cblas_dgemm(CblasRowMajor, la.trans, lb.trans, int(M), int(N), int(K), 1.0, a, int(la.ld), b, int(lb.ld), 0.0, c, int(N));
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
    gemm<T>(la, lb, nb * M, N, K, pa, pb, pc);
    return;
  }

  // Per-batch-entry offsets of a and b.
  std::vector<int64_t> oa(static_cast<size_t>(nb)), ob(static_cast<size_t>(nb));
  {
    Shape idx(batch.size());  // zeros; the (n, 0) constructor trips a GCC 12 -Wfree-nonheap-object false positive
    for (int64_t i = 0; i < nb; ++i) {
      int64_t x = 0, y = 0;
      for (size_t k = 0; k < batch.size(); ++k) x += idx[k] * a.strides()[k], y += idx[k] * b.strides()[k];
      oa[size_t(i)] = x, ob[size_t(i)] = y;
      for (int64_t k = int64_t(batch.size()) - 1; k >= 0 && ++idx[size_t(k)] == batch[size_t(k)]; --k) idx[size_t(k)] = 0;
    }
  }
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (nb >= 2 && flops < 2.0 * 256 * 256 * 256 && num_threads() > 1) {
    BlasThreadsGuard one(1);
    parallel_for(0, nb, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gemm<T>(la, lb, M, N, K, pa + oa[size_t(i)], pb + ob[size_t(i)], pc + i * M * N);
    });
  } else {
    for (int64_t i = 0; i < nb; ++i) gemm<T>(la, lb, M, N, K, pa + oa[size_t(i)], pb + ob[size_t(i)], pc + i * M * N);
  }
}

void cpu_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_float(out.dtype(), "matmul", [&](auto t) { matmul_impl<decltype(t)>(a, b, out); });
}

}  // namespace

void register_matmul(Kernels& k) { k.matmul = cpu_matmul; }

}  // namespace difft::cpu
