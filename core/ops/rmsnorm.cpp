// rmsnorm.cpp: RMSNorm as one fused op (the pre-norms of every block and the DIFF "subln").
//
// x (..., C) is viewed as rows x (N, C); w (C) is shared by every row.
//   forward:  r = rsqrt(mean_c x² + eps)   (N), saved as rstd
//             xhat = x r,   y = xhat w     (N, C)
//   backward, per row, with gy (N, C):
//     y_j = x_j r w_j and dr/dx_k = -½ (mean x² + eps)^(-3/2) · 2 x_k / C = -r³ x_k / C, so
//     gx_k = Σ_j gy_j w_j (δ_jk r + x_j dr/dx_k)
//          = r gy_k w_k − r³ x_k / C · Σ_j gy_j w_j x_j
//          = r (gy_k w_k − xhat_k · mean_j(gy_j w_j xhat_j))
//     gw_j = Σ_rows gy_j xhat_j            (a reduction over rows: chunked, deterministic)
// Fusing saves the N×C temporaries of x², xhat and gy·w that the composed ops would allocate,
// and the backward reuses rstd instead of recomputing the row statistics.
#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_floating("rms_norm", x);
  DIFFT_CHECK(weight.defined(), "rms_norm: undefined weight");
  check_same("rms_norm", x, weight);
  DIFFT_CHECK(x.dim() >= 1, "rms_norm: x needs at least 1 dim (..., C), got ", shape_str(x.shape()));
  const int64_t C = x.size(-1);
  DIFFT_CHECK(weight.dim() == 1 && weight.size(0) == C, "rms_norm: weight must be 1-d of size C = ", C,
              " (the last dim of x ", shape_str(x.shape()), "), got ", shape_str(weight.shape()));
  DIFFT_CHECK(std::isfinite(eps) && eps >= 0, "rms_norm: eps must be finite and >= 0, got ", eps);

  const Shape in_shape = x.shape();
  const int64_t N = shape_numel(Shape(in_shape.begin(), in_shape.end() - 1));
  Tensor x2;
  {
    NoGradGuard no_grad;  // a layout change for the kernel; the recorded input is x itself
    x2 = x.contiguous().view({N, C});
  }
  Tensor y = empty({N, C}, {x.dtype(), x.device()});
  Tensor rstd = empty({N}, {x.dtype(), x.device()});
  DIFFT_KERNEL(x.device(), rmsnorm_forward, "rms_norm")(x2, weight, eps, y, rstd);  // weight may be strided

  SavedTensor sx = x2, sw = weight, sr = rstd;
  return record("rms_norm", y.view(in_shape), {x, weight},
                [sx, sw, sr, in_shape, N, C](const Tensor& g) -> std::vector<Tensor> {
                  const Tensor& xx = sx.get();
                  const Tensor gy = g.contiguous().view({N, C});
                  Tensor gx = empty({N, C}, {g.dtype(), g.device()});
                  Tensor gw = empty({C}, {g.dtype(), g.device()});
                  DIFFT_KERNEL(g.device(), rmsnorm_backward, "rms_norm")(xx, sw.get(), sr.get(), gy, gx, gw);
                  return {gx.view(in_shape), gw};
                });
}

}  // namespace difft
