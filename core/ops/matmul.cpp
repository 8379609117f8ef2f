// matmul.cpp: matrix product with batch broadcasting, as torch.matmul.
//
//   out (..., M, N) = a (..., M, K) @ b (..., K, N)
//   ga = g @ bᵀ  (..., M, K)      gb = aᵀ @ g  (..., K, N)     then sum_to the input shapes
// The transposes are views; the BLAS kernel receives them as transpose flags. When b is a plain
// matrix shared by every batch entry (a Linear weight), gb is computed as one GEMM over the
// flattened batch, (B*M, K)ᵀ @ (B*M, N), instead of B products summed afterwards.
#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// BLAS needs a unit stride in one of the two matrix dims, and no zero stride there.
static Tensor blas_ready(const Tensor& t) {
  const int64_t d = t.dim();
  const int64_t rs = t.strides()[size_t(d - 2)], cs = t.strides()[size_t(d - 1)];
  const int64_t rows = t.shape()[size_t(d - 2)], cols = t.shape()[size_t(d - 1)];
  const bool row_major = (cs == 1 || cols == 1) && (rs >= cols || rows == 1) && rs > 0;
  const bool col_major = (rs == 1 || rows == 1) && (cs >= rows || cols == 1) && cs > 0;
  if (row_major || col_major || (rows == 1 && cols == 1)) return t;
  // copy only the matrix dims: keep broadcast (stride-0) batch dims
  return t.contiguous();
}

// The batched product of a (..., M, K) and b (..., K, N), both at least 2-d.
static Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), K2 = b.size(-2), N = b.size(-1);
  DIFFT_CHECK(K == K2, "matmul: inner dimensions differ: a ", shape_str(a.shape()), " @ b ", shape_str(b.shape()), ": ", K, " != ", K2);
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(ba, bb, "matmul");
  } catch (const Error& e) {  // name the operands, not only their batch dims
    throw Error(detail::cat_message("matmul: batch dims of a ", shape_str(a.shape()), " and b ",
                                    shape_str(b.shape()), " do not broadcast (", e.what(), ")"));
  }
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor out = empty(so, {a.dtype(), a.device()});
  {
    NoGradGuard no_grad;
    DIFFT_KERNEL(a.device(), matmul, "matmul")(blas_ready(a.expand(sa)), blas_ready(b.expand(sb)), out);
  }
  SavedTensor saved_a = a, saved_b = b;
  return record("matmul", out, {a, b}, [saved_a, saved_b](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& x = saved_a.get();
    const Tensor& y = saved_b.get();
    Tensor ga = sum_to(matmul_nd(g, y.transpose(-1, -2)), x.shape());
    Tensor gb;
    if (y.dim() == 2 && x.dim() > 2) {  // shared weight: fold the batch into one GEMM
      const Tensor x2 = x.reshape({-1, x.size(-1)}), g2 = g.reshape({-1, g.size(-1)});
      gb = matmul_nd(x2.transpose(0, 1), g2);
    } else {
      gb = sum_to(matmul_nd(x.transpose(-1, -2), g), y.shape());
    }
    return {ga, gb};
  });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same("matmul", a, b);
  check_floating("matmul", a);
  DIFFT_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got a ", shape_str(a.shape()), " and b ", shape_str(b.shape()));
  // 1-d operands as in torch.matmul: a vector is a row (left) or a column (right), then dropped.
  if (a.dim() == 1 && b.dim() == 1) {
    DIFFT_CHECK(a.size(0) == b.size(0), "matmul: vector lengths differ: a ", shape_str(a.shape()), " @ b ", shape_str(b.shape()));
    return matmul_nd(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  // checked here so that the message shows the shapes the caller passed, not the unsqueezed ones
  DIFFT_CHECK(a.size(-1) == b.size(b.dim() == 1 ? 0 : -2), "matmul: inner dimensions differ: a ",
              shape_str(a.shape()), " @ b ", shape_str(b.shape()), ": ", a.size(-1), " != ",
              b.size(b.dim() == 1 ? 0 : -2));
  if (a.dim() == 1) return matmul_nd(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul_nd(a, b.unsqueeze(1)).squeeze(-1);
  return matmul_nd(a, b);
}

}  // namespace difft
