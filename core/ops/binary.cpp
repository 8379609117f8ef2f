// binary.cpp: broadcasting add, sub, mul, div, maximum, minimum and comparisons.
//
//   out = a ∘ b with a, b broadcast to S = broadcast(a.shape, b.shape)
//   backward: the pointwise derivative, then sum_to(., input shape) undoes the broadcast
//     add: (g, g)   sub: (g, -g)   mul: (g b, g a)   div: (g / b, -g a / b²)
#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// Runs the binary kernel on a, b broadcast to their common shape.
static Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_same(name, a, b);
  check_floating(name, a);
  const Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(s, {a.dtype(), a.device()});
  NoGradGuard no_grad;  // the expands below are internal, not part of the graph
  DIFFT_KERNEL(a.device(), binary, name)(op, a.expand(s), b.expand(s), out);
  return out;
}

// (add and sub run the forward, which checks the arguments, before reading their shapes.)
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Add, "add", a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record("add", out, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Sub, "sub", a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record("sub", out, {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    return {sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  SavedTensor sa = a, sb = b;
  return record("mul", binary_forward(BinaryOp::Mul, "mul", a, b), {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& x = sa.get();
    const Tensor& y = sb.get();
    return {sum_to(mul(g, y), x.shape()), sum_to(mul(g, x), y.shape())};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  SavedTensor sa = a, sb = b;
  return record("div", binary_forward(BinaryOp::Div, "div", a, b), {a, b}, [sa, sb](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& x = sa.get();
    const Tensor& y = sb.get();
    const Tensor gx = div(g, y);
    return {sum_to(gx, x.shape()), sum_to(neg(mul(gx, div(x, y))), y.shape())};
  });
}

// maximum/minimum: the gradient goes to the chosen operand (a on ties, as the kernel picks a).
static Tensor select_binary(BinaryOp op, BinaryOp pick_a, const char* name, const Tensor& a, const Tensor& b) {
  SavedTensor sa = a, sb = b;
  return record(name, binary_forward(op, name, a, b), {a, b}, [sa, sb, pick_a, name](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& x = sa.get();
    const Tensor& y = sb.get();
    // mask = 1 where a was chosen: a >= b for maximum (a <= b for minimum), i.e. !(b op a)
    const Tensor not_a = binary_forward(pick_a, name, y, x);
    const Tensor ga = mul(g, sub(1.0, not_a));
    return {sum_to(ga, x.shape()), sum_to(sub(g, ga), y.shape())};
  });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return select_binary(BinaryOp::Maximum, BinaryOp::Gt, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_binary(BinaryOp::Minimum, BinaryOp::Lt, "minimum", a, b); }

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Eq, "eq", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Gt, "gt", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Lt, "lt", a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }

}  // namespace difft
