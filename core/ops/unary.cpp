// unary.cpp: pointwise functions of one tensor and of a tensor and a scalar.
//
// Forward: out = f(x). Backward: gx = gy * f'(x), one fused kernel (cpu: elementwise.cpp
// lists every f and f' side by side).
#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

static Tensor unary_op(UnaryOp op, const char* name, const Tensor& x, double alpha = 0.0) {
  check_floating(name, x);
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  DIFFT_KERNEL(x.device(), unary, name)(op, alpha, x, out);
  SavedTensor sx = x, sy = out;
  return record(name, out, {x}, [=](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& xx = sx.get();
    Tensor gx = empty(xx.shape(), {g.dtype(), g.device()});
    DIFFT_KERNEL(g.device(), unary_backward, name)(op, alpha, xx, sy.get(), g, gx);
    return {gx};
  });
}

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::Neg, "neg", x); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, "exp", x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, "log", x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, "sqrt", x); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::Rsqrt, "rsqrt", x); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::Abs, "abs", x); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::Tanh, "tanh", x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::Sigmoid, "sigmoid", x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::Silu, "silu", x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, "relu", x); }
Tensor gelu(const Tensor& x) { return unary_op(UnaryOp::Gelu, "gelu", x); }
Tensor pow(const Tensor& x, double e) { return unary_op(UnaryOp::PowScalar, "pow", x, e); }
Tensor add(const Tensor& x, double s) { return unary_op(UnaryOp::AddScalar, "add", x, s); }
Tensor sub(const Tensor& x, double s) { return unary_op(UnaryOp::AddScalar, "sub", x, -s); }
Tensor sub(double s, const Tensor& x) { return add(neg(x), s); }
Tensor mul(const Tensor& x, double s) { return unary_op(UnaryOp::MulScalar, "mul", x, s); }
Tensor div(const Tensor& x, double s) { return unary_op(UnaryOp::MulScalar, "div", x, 1.0 / s); }
Tensor div(double s, const Tensor& x) { return unary_op(UnaryOp::RDivScalar, "div", x, s); }

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator-(double s, const Tensor& a) { return sub(s, a); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator/(double s, const Tensor& a) { return div(s, a); }

}  // namespace difft
