// rope.cpp: rotary position embedding on interleaved pairs (GPT-J style; DIFF spec section 5).
//
// x (B, T, H, D), D even. Each D-dim head vector is D/2 pairs (x[2m], x[2m+1]), m < D/2; the pair
// at time index t is rotated by angle(t, m) = (pos_offset + t) · theta^(-2m/D):
//   out[2m]   = x[2m] cos − x[2m+1] sin
//   out[2m+1] = x[2m] sin + x[2m+1] cos
// The map is linear, x -> R x with R orthogonal (a rotation per pair), so the backward is
//   gx = Rᵀ gy = R⁻¹ gy = the same kernel with the angle negated (inverse = true).
// Nothing is saved for backward: R depends only on (t, m, pos_offset, theta).
#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// Runs the kernel on a contiguous copy of x (a view when x is already contiguous).
static Tensor rope_apply(const Tensor& x, int64_t pos_offset, double theta, bool inverse) {
  Tensor xc;
  {
    NoGradGuard no_grad;  // the copy is internal: the recorded input is x itself
    xc = x.contiguous();
  }
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  DIFFT_KERNEL(x.device(), rope, "rope")(xc, out, pos_offset, theta, inverse);
  return out;
}

Tensor rope(const Tensor& x, int64_t pos_offset, double theta) {
  check_floating("rope", x);
  DIFFT_CHECK(x.dim() == 4, "rope: x must be 4-d (B, T, H, D), got ", shape_str(x.shape()));
  DIFFT_CHECK(x.size(3) % 2 == 0, "rope: head dim D must be even (it holds D/2 rotated pairs), got D = ",
              x.size(3), " in ", shape_str(x.shape()));
  DIFFT_CHECK(std::isfinite(theta) && theta > 0, "rope: theta must be finite and > 0, got ", theta);
  Tensor out = rope_apply(x, pos_offset, theta, /*inverse=*/false);
  return record("rope", out, {x}, [pos_offset, theta](const Tensor& g) -> std::vector<Tensor> {
    return {rope_apply(g, pos_offset, theta, /*inverse=*/true)};
  });
}

}  // namespace difft
