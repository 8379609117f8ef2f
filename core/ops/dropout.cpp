// dropout.cpp: inverted dropout.
//
//   training, 0 < p < 1:  u ~ U[0, 1) of x's shape (from gen),  mask = (u >= p) / (1 - p)
//                         y = x * mask,   backward: gx = g * mask
//   p == 1:               mask = 0 (y = 0), as torch
//   eval or p == 0:       y = x (the same tensor)
// Scaling the kept elements by 1/(1-p) keeps E[y] = x, so eval needs no rescaling. The uniforms
// come from the counter-based generator, so the mask depends only on gen's seed and offset, not
// on the number of threads.

#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

Tensor dropout(const Tensor& x, double p, Generator& gen, bool training) {
  check_floating("dropout", x);
  DIFFT_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;

  const TensorOptions opt{x.dtype(), x.device()};
  Tensor mask, y;
  {
    NoGradGuard no_grad;  // the mask is a constant; the graph is the one node recorded below
    if (p == 1.0) {
      mask = zeros({}, opt);  // 1/(1-p) would be inf, and 0 * inf is NaN
    } else {
      const Tensor u = rand(x.shape(), gen, opt);
      // u < p drops the element (probability p); the rest keep 1/(1-p)
      mask = where(lt(u, full({}, p, opt)), zeros({}, opt), full({}, 1.0 / (1.0 - p), opt));
    }
    y = mul(x, mask);
  }
  return record("dropout", y, {x}, [mask](const Tensor& g) -> std::vector<Tensor> {
    return {mul(g, mask)};
  });
}

}  // namespace difft
