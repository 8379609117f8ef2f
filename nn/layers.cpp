#include "nn/layers.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace difft::nn {

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool with_bias, DType dtype) : in_features(in), out_features(out) {
  DIFFT_CHECK(in > 0 && out > 0, "Linear: features must be positive, got in ", in, " out ", out);
  const double bound = 1.0 / std::sqrt(double(in));  // torch: kaiming_uniform(a=√5) = U(±1/√fan_in)
  weight = register_parameter("weight", uniform({out, in}, -bound, bound, gen, {dtype}));
  if (with_bias) bias = register_parameter("bias", uniform({out}, -bound, bound, gen, {dtype}));
}

Tensor Linear::forward(const Tensor& x) const {
  DIFFT_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear: input ", shape_str(x.shape()),
              " does not end in in_features ", in_features);
  Tensor y = matmul(x, weight.t());  // the transpose is a view: BLAS gets a transpose flag
  return bias.defined() ? add(y, bias) : y;
}

Embedding::Embedding(int64_t n, int64_t dim, Generator& gen, DType dtype) {
  DIFFT_CHECK(n > 0 && dim > 0, "Embedding: sizes must be positive, got ", n, " x ", dim);
  weight = register_parameter("weight", normal({n, dim}, 0.0, 1.0 / std::sqrt(double(dim)), gen, {dtype}));
}

Tensor Embedding::forward(const Tensor& idx) const { return embedding(weight, idx); }

RMSNorm::RMSNorm(int64_t dim, double eps_, DType dtype) : eps(eps_) {
  DIFFT_CHECK(dim > 0 && eps_ >= 0, "RMSNorm: need dim > 0 and eps >= 0, got ", dim, ", ", eps_);
  weight = register_parameter("weight", ones({dim}, {dtype}));
}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight, eps); }

SwiGLU::SwiGLU(int64_t dim, int64_t hidden, Generator& gen, DType dtype) {
  gate_proj = register_module("gate_proj", std::make_shared<Linear>(dim, hidden, gen, false, dtype));
  up_proj = register_module("up_proj", std::make_shared<Linear>(dim, hidden, gen, false, dtype));
  down_proj = register_module("down_proj", std::make_shared<Linear>(hidden, dim, gen, false, dtype));
}

Tensor SwiGLU::forward(const Tensor& x) const {
  return down_proj->forward(mul(silu(gate_proj->forward(x)), up_proj->forward(x)));
}

Tensor Rotary::forward(const Tensor& x, int64_t pos_offset) const { return rope(x, pos_offset, theta); }

int64_t swiglu_hidden(int64_t dim) { return int64_t(double(dim) * 8.0 / 3.0); }

}  // namespace difft::nn
