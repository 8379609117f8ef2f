// gradcheck.h: compares autograd's gradients with central finite differences (float64).
//
// For a function f(inputs) -> tensor, pick a fixed random R of f's output shape and check the
// vector-Jacobian product: analytic d/dx_i of L = Σ f(x) ⊙ R against
//     (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)
// for every element i of every input that requires grad. With eps = 1e-6 in float64 the central
// difference has error O(eps²·f''') + O(1e-16/eps) ≈ 1e-10 relative, so atol 1e-7 and rtol 1e-5
// leave a wide margin while still catching any wrong formula (errors of a wrong rule are O(1)).
//
// Inputs must be float64 leaves. To check an op on a non-contiguous operand, make the view inside
// f (e.g. f = [](auto& in) { return softmax(in[0].t()); }): the leaf stays contiguous and the op
// sees the transposed view.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace difft {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-5;
  uint64_t seed = 1234;  // for the projection R
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch: input, index, analytic, numeric
  int64_t checked = 0;  // number of elements compared
  double max_abs_err = 0.0;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opt = {});

}  // namespace difft
