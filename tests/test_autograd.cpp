// test_autograd.cpp: the engine: backward entry points, accumulation, graph freeing, grad mode,
// the in-place version check, views in the graph, and deep graphs.
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {
Tensor f64(std::initializer_list<double> v, bool requires_grad = false) {
  return tensor(v, {DType::Float64, Device::cpu(), requires_grad});
}
}  // namespace

TEST_CASE("backward of a scalar fills leaf gradients") {
  Tensor x = f64({1, 2, 3}, true);
  Tensor w = f64({4, 5, 6}, true);
  Tensor y = sum(mul(x, w));  // dy/dx = w, dy/dw = x
  CHECK(y.dim() == 0);
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name == "sum");
  y.backward();
  check_values(x.grad(), {4, 5, 6}, 0);
  check_values(w.grad(), {1, 2, 3}, 0);
  CHECK(x.grad().dtype() == DType::Float64);
  CHECK_FALSE(x.grad().requires_grad());
  // one-element but not 0-d roots get an implicit gradient too
  Tensor a = f64({3}, true);
  mul(a, a).backward();
  check_values(a.grad(), {6}, 0);
}

TEST_CASE("explicit gradient for a non-scalar root; implicit one is an error") {
  Tensor x = f64({1, 2, 3}, true);
  Tensor y = mul(x, 2.0);
  Tensor gy = f64({1, 10, 100});
  y.backward(gy);
  check_values(x.grad(), {2, 20, 200}, 0);
  Tensor z = mul(x, 3.0);
  CHECK_THROWS_WITH_PART(z.backward(), "implicit gradient");
  CHECK_THROWS_WITH_PART(z.backward(), "(3,)");
  CHECK_THROWS_WITH_PART(z.backward(f64({1, 2})), "gradient of shape (2,)");
  CHECK_THROWS_WITH_PART(f64({1, 2}).backward(f64({1, 1})), "does not require grad");
}

TEST_CASE("gradients accumulate across backward calls; zero_grad drops them") {
  Tensor x = f64({1, 2}, true);
  sum(mul(x, x)).backward();  // 2x
  sum(mul(x, 3.0)).backward();  // + 3
  check_values(x.grad(), {5, 7}, 0);
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(mul(x, 3.0)).backward();
  check_values(x.grad(), {3, 3}, 0);
}

TEST_CASE("accumulation never writes into a caller's tensor or another leaf's gradient") {
  SUBCASE("the root gradient passed in by the caller") {
    Tensor x = f64({1, 2}, true);
    Tensor gy = f64({1, 1});
    Tensor y = add(x, f64({0, 0}));  // add passes gy through unchanged
    y.backward(gy, /*retain_graph=*/true);
    y.backward(gy);
    check_values(gy, {1, 1}, 0);
    check_values(x.grad(), {2, 2}, 0);
    y = add(x, f64({0, 0}));
    y.backward(gy);
    check_values(x.grad(), {3, 3}, 0);
    check_values(gy, {1, 1}, 0);
  }
  SUBCASE("backward from a leaf") {
    Tensor x = f64({1, 2}, true);
    Tensor gy = f64({1, 1});
    x.backward(gy);
    x.backward(gy);
    check_values(x.grad(), {2, 2}, 0);
    check_values(gy, {1, 1}, 0);
  }
  SUBCASE("two leaves receiving the same gradient tensor") {
    // add's backward returns the incoming gradient for both inputs: each leaf must own its copy.
    Tensor x = f64({1, 2}, true), y = f64({3, 4}, true);
    for (int i = 0; i < 2; ++i) sum(mul(add(x, y), 2.0)).backward();
    check_values(x.grad(), {4, 4}, 0);
    check_values(y.grad(), {4, 4}, 0);
    CHECK(x.grad().storage() != y.grad().storage());
  }
}

TEST_CASE("retain_graph keeps the graph; by default a second backward throws") {
  Tensor x = f64({1, 2}, true);
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  check_close(x.grad(), mul(exp(x.detach()), 2.0), 0, 1e-15);
  CHECK_THROWS_WITH_PART(y.backward(), "second time");
  CHECK_THROWS_WITH_PART(y.backward(), "retain_graph");
  // the part of a graph shared with a freed one is freed too
  Tensor a = f64({1}, true);
  Tensor h = mul(a, 2.0);
  Tensor l1 = sum(h), l2 = sum(mul(h, 3.0));
  l1.backward();
  CHECK_THROWS_WITH_PART(l2.backward(), "second time");
}

TEST_CASE("a diamond graph sums the gradients of both paths") {
  Tensor x = f64({0.5, -1.5}, true);
  Tensor a = mul(x, 3.0), b = exp(x);  // x used twice
  sum(add(a, mul(a, b))).backward();   // d/dx [3x + 3x e^x] = 3 + 3 e^x + 3x e^x
  std::vector<double> want;
  for (double v : {0.5, -1.5}) want.push_back(3 + 3 * std::exp(v) + 3 * v * std::exp(v));
  check_values(x.grad(), want, 1e-14);
  Tensor y = f64({2}, true);
  sum(mul(y, y)).backward();  // the same tensor as both operands
  check_values(y.grad(), {4}, 0);
}

TEST_CASE("detach stops gradients and shares storage") {
  Tensor x = f64({1, 2}, true);
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.storage() == x.storage());
  sum(mul(x, d)).backward();  // d is a constant
  check_values(x.grad(), {1, 2}, 0);
  Tensor y = mul(x, 2.0).detach();
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
}

TEST_CASE("NoGradGuard records nothing, nests and restores") {
  Tensor x = f64({1, 2}, true);
  CHECK(grad_enabled());
  {
    NoGradGuard g;
    CHECK_FALSE(grad_enabled());
    Tensor y = mul(exp(x), x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK_FALSE(x.slice(0, 0, 1).requires_grad());
    CHECK_FALSE(x.view({2, 1}).t().requires_grad());
    {
      NoGradGuard inner;
      CHECK_FALSE(grad_enabled());
    }
    CHECK_FALSE(grad_enabled());  // the inner guard restores "off", not "on"
    CHECK_THROWS_WITH_PART(y.backward(f64({1, 1})), "does not require grad");
  }
  CHECK(grad_enabled());
  CHECK(mul(x, 2.0).requires_grad());
  // restored on exceptions too
  try {
    NoGradGuard g;
    throw Error("boom");
  } catch (const Error&) {
  }
  CHECK(grad_enabled());
}

TEST_CASE("requires_grad_ rules") {
  Tensor i = zeros({2}, {DType::Int64});
  CHECK_THROWS_WITH_PART(i.requires_grad_(), "int64");
  CHECK_THROWS_WITH_PART(zeros({2}, {DType::Int64, Device::cpu(), true}), "int64");
  Tensor x = f64({1}, true);
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH_PART(y.requires_grad_(false), "detach");
  x.requires_grad_(false);
  CHECK_FALSE(x.requires_grad());
  CHECK_FALSE(mul(x, 2.0).requires_grad());
  // an int64 input of a float op: integer copies carry no gradient
  Tensor xf = f64({1, 2}, true);
  CHECK_FALSE(xf.to(DType::Int64).requires_grad());
}

TEST_CASE("backward refuses a saved tensor modified in place") {
  SUBCASE("mul_") {
    Tensor w = f64({1, 2}, true), x = f64({3, 4});
    Tensor y = sum(mul(w, x));
    x.mul_(2);
    CHECK_THROWS_WITH_PART(y.backward(), "modified in place");
  }
  SUBCASE("set through a view") {
    Tensor w = f64({1, 2}, true), x = f64({3, 4});
    Tensor y = sum(mul(w, x));
    x.view({2, 1}).set({0, 0}, 7);
    CHECK_THROWS_WITH_PART(y.backward(), "modified in place");
  }
  SUBCASE("an optimizer step before backward") {
    Tensor w = f64({1, 2}, true);
    Tensor y = sum(exp(w));
    {
      NoGradGuard g;
      w.add_(f64({1, 1}), -0.1);
    }
    CHECK_THROWS_WITH_PART(y.backward(), "modified in place");
  }
  SUBCASE("an unsaved input may change") {
    Tensor w = f64({1, 2}, true), x = f64({3, 4});
    Tensor y = sum(add(w, x));  // add saves nothing
    x.fill_(0);
    y.backward();
    check_values(w.grad(), {1, 1}, 0);
  }
}

TEST_CASE("in-place ops on tensors that require grad: errors, and the optimizer pattern") {
  Tensor w = f64({1, 2}, true);
  CHECK_THROWS_WITH_PART(w.fill_(0), "NoGradGuard");
  CHECK_THROWS_WITH_PART(w.mul_(2), "mul_");
  CHECK_THROWS_WITH_PART(w.add_(f64({1, 1})), "add_");
  CHECK_THROWS_WITH_PART(w.copy_(f64({1, 1})), "copy_");
  CHECK_THROWS_WITH_PART(w.slice(0, 0, 1).fill_(0), "fill_");  // a view that requires grad
  CHECK_THROWS_WITH_PART(mul(w, 2.0).mul_(2), "mul_");
  check_values(w, {1, 2}, 0);
  sum(mul(w, w)).backward();
  {
    NoGradGuard g;
    const uint64_t v = w.version();
    w.add_(w.grad(), -0.25);  // SGD step
    CHECK(w.version() == v + 1);
    w.mul_(2);
  }
  check_values(w, {1, 2}, 1e-15);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  w.zero_grad();
  sum(mul(w, 3.0)).backward();  // the graph after the step works as usual
  check_values(w.grad(), {3, 3}, 0);
}

TEST_CASE("gradients through views match finite differences") {
  using In = const std::vector<Tensor>&;
  CHECK_GRAD([](In in) { return mul(in[0].slice(1, 1, 5, 2), in[0].slice(1, -2, 4)); }, leaf({3, 5}, 1));
  CHECK_GRAD([](In in) { return exp(in[0].slice(0, 1, 3).narrow(1, 0, 2)); }, leaf({3, 4}, 2));
  CHECK_GRAD([](In in) { return mul(in[0].expand({2, 3, 4}), in[1]); }, leaf({3, 1}, 3), leaf({2, 3, 4}, 4));
  CHECK_GRAD([](In in) { return tanh(in[0].permute({2, 0, 1})); }, leaf({2, 3, 4}, 5));
  CHECK_GRAD([](In in) { return sigmoid(in[0].transpose(0, 2).reshape({4, 6})); }, leaf({2, 3, 4}, 6));
  CHECK_GRAD([](In in) { return mul(in[0].t().reshape({-1}), in[1]); }, leaf({3, 4}, 7), leaf({12}, 8));
  CHECK_GRAD([](In in) { return in[0].t().contiguous().view({2, 6}); }, leaf({3, 4}, 9));
  CHECK_GRAD([](In in) { return exp(in[0].select(1, -1)); }, leaf({3, 4}, 10));
  CHECK_GRAD([](In in) { return mul(in[0].unsqueeze(1), in[1].squeeze(0)); }, leaf({3, 4}, 11), leaf({1, 2, 4}, 12));
  CHECK_GRAD([](In in) { return mul(in[0].clone(), in[0].flatten().view({4, 3}).t()); }, leaf({3, 4}, 13));
  // a view of a view of an expanded tensor
  CHECK_GRAD([](In in) { return exp(in[0].expand({4, 3, 5}).transpose(0, 2).slice(1, 0, 3, 2)); }, leaf({3, 1}, 14));
}

TEST_CASE("to(dtype) is differentiable and returns the gradient in the input's dtype") {
  Tensor x = tensor({1, 2}, {DType::Float32, Device::cpu(), true});
  Tensor y = x.to(DType::Float64);
  CHECK(y.requires_grad());
  sum(mul(y, f64({3, 4}))).backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().dtype() == DType::Float32);
  check_values(x.grad(), {3, 4}, 0);
}

TEST_CASE("a chain of 10000 ops runs backward without deep recursion") {
  Tensor x = f64({1.0}, true);
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = mul(add(y, 1.0), 1.0);  // 20000 nodes
  CHECK(y.item() == 10001.0);
  y.backward();
  check_values(x.grad(), {1.0}, 0);
}

TEST_CASE("a graph deeper than the stack can recurse is freed without overflow") {
  // Destroying the root releases the chain node by node; a recursive release of 200000 nodes
  // would overflow an 8 MB stack.
  Tensor x = f64({1.0}, true);
  {
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = add(y, 1.0);
    CHECK(y.item() == 200001.0);
  }
  CHECK(x.requires_grad());
}

TEST_CASE("non-leaf .grad is not retained; an unused input's grad stays undefined") {
  Tensor x = f64({1, 2}, true), unused = f64({5}, true);
  Tensor h = mul(x, 2.0);
  sum(mul(h, h)).backward();
  CHECK_FALSE(h.grad().defined());
  CHECK_FALSE(unused.grad().defined());
  check_values(x.grad(), {8, 16}, 0);  // d/dx (2x)^2 = 8x
  // an input that is part of the graph but gets no gradient (the non-grad side of a mul)
  Tensor c = f64({1, 1});
  sum(mul(x, c)).backward();
  CHECK_FALSE(c.grad().defined());
}
