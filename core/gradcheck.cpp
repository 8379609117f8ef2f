#include <algorithm>
#include "core/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/autograd.h"
#include "core/error.h"
#include "core/generator.h"
#include "core/ops.h"

namespace difft {

// Multi-index of flat position i in shape s.
static std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) idx[d] = i % s[d], i /= s[d];
  return idx;
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    DIFFT_CHECK(x.defined() && (!x.requires_grad() || (x.dtype() == DType::Float64 && x.is_leaf())),
                "gradcheck: input ", k, " must be a float64 leaf (got ", dtype_name(x.dtype()), " ", shape_str(x.shape()), ")");
  }
  // Analytic: one backward of L = sum(f(x) * R).
  Tensor out = f(inputs);
  DIFFT_CHECK(out.dtype() == DType::Float64, "gradcheck: f must return float64, got ", dtype_name(out.dtype()));
  Generator gen(opt.seed);
  const Tensor R = uniform(out.shape(), -1.0, 1.0, gen, {DType::Float64, out.device()});
  for (const Tensor& x : inputs) if (x.requires_grad()) x.zero_grad();
  sum(mul(out, R)).backward();

  auto loss = [&]() {
    NoGradGuard g;
    return sum(mul(f(inputs), R)).item();
  };
  GradcheckResult res;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    const Tensor analytic = x.grad().defined() ? x.grad() : zeros(x.shape(), {DType::Float64});
    for (int64_t i = 0; i < x.numel(); ++i) {
      const std::vector<int64_t> idx = unravel(i, x.shape());
      const double v = x.at(idx);
      double lp, lm;
      {
        NoGradGuard g;
        x.set(idx, v + opt.eps);
        lp = loss();
        x.set(idx, v - opt.eps);
        lm = loss();
        x.set(idx, v);
      }
      const double numeric = (lp - lm) / (2 * opt.eps), a = analytic.at(idx);
      const double err = std::abs(a - numeric);
      res.max_abs_err = std::max(res.max_abs_err, err);
      ++res.checked;
      if (res.ok && !(err <= opt.atol + opt.rtol * std::abs(numeric))) {
        std::ostringstream os;
        os << "gradcheck: input " << k << " " << shape_str(x.shape()) << " at index " << shape_str(Shape(idx.begin(), idx.end()))
           << ": analytic " << a << " vs numeric " << numeric << " (|diff| " << err << " > atol " << opt.atol
           << " + rtol " << opt.rtol << " * |numeric|)";
        res.ok = false;
        res.message = os.str();
      }
    }
    x.zero_grad();
  }
  return res;
}

}  // namespace difft
