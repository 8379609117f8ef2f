// test_ops_elementwise.cpp: binary ops with broadcasting, unary ops, scalar forms, comparisons:
// float64 gradient checks (contiguous, broadcast and non-contiguous operands), forward values
// against <cmath> in float32 and float64, the strided loop machinery, and argument errors.
#include <functional>

#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;
using In = const std::vector<Tensor>&;

namespace {

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// A float64 leaf with the given values (for inputs that must avoid kinks, ties or poles).
Tensor leaf_values(std::vector<double> v, const Shape& s) {
  return from_vector(v, s, {DType::Float64, Device::cpu(), true});
}

// Smallest |a - b| over the broadcast pairs: max/min gradients are only defined away from ties.
double min_gap(const Tensor& a, const Tensor& b) {
  NoGradGuard g;
  return amin(abs(sub(a, b))).item();
}

// got vs ref elementwise within rtol*|ref| + atol.
void check_rel(const std::vector<double>& got, const std::vector<double>& ref, double rtol, double atol) {
  REQUIRE(got.size() == ref.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": " << got[i] << " vs " << ref[i]);
    REQUIRE(std::abs(got[i] - ref[i]) <= rtol * std::abs(ref[i]) + atol);
  }
}

}  // namespace

// ---- binary: gradients -----------------------------------------------------------------------

TEST_CASE("add/sub/mul/div: gradients with broadcasting") {
  const std::vector<std::pair<const char*, BinaryFn>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
  };
  for (const auto& [name, op] : ops) {
    CAPTURE(std::string(name));
    // b in [0.5, 2]: div stays away from its pole
    auto f = [op](In in) { return op(in[0], in[1]); };
    CHECK_GRAD(f, leaf({2, 3}, 1), leaf({2, 3}, 2, 0.5, 2));
    CHECK_GRAD(f, leaf({3, 1}, 3), leaf({1, 4}, 4, 0.5, 2));
    CHECK_GRAD(f, leaf({2, 3, 4}, 5), leaf({4}, 6, 0.5, 2));
    CHECK_GRAD(f, leaf({4}, 7), leaf({2, 3, 4}, 8, 0.5, 2));
    CHECK_GRAD(f, leaf({}, 9), leaf({2, 3}, 10, 0.5, 2));
    CHECK_GRAD(f, leaf({2, 3}, 11), leaf({}, 12, 0.5, 2));
    CHECK_GRAD(f, leaf({}, 13), leaf({}, 14, 0.5, 2));
    CHECK_GRAD(f, leaf({1, 3, 1}, 15), leaf({2, 1, 4}, 16, 0.5, 2));
    // non-contiguous operands: transposed, sliced with a step, expanded
    CHECK_GRAD([op](In in) { return op(in[0].t(), in[1]); }, leaf({4, 3}, 17), leaf({3, 4}, 18, 0.5, 2));
    CHECK_GRAD([op](In in) { return op(in[0], in[1].t()); }, leaf({3, 4}, 19), leaf({4, 3}, 20, 0.5, 2));
    CHECK_GRAD([op](In in) { return op(in[0].slice(1, 0, 6, 2), in[1].slice(0, 1, 4)); }, leaf({3, 6}, 21),
               leaf({4, 3}, 22, 0.5, 2));
    CHECK_GRAD([op](In in) { return op(in[0].expand({3, 4}), in[1].permute({1, 0})); }, leaf({3, 1}, 23),
               leaf({4, 3}, 24, 0.5, 2));
    CHECK_GRAD([op](In in) { return op(in[0].transpose(0, 2), in[1].expand({4, 3, 2})); }, leaf({2, 3, 4}, 25),
               leaf({3, 1}, 26, 0.5, 2));
    // the same leaf on both sides
    CHECK_GRAD([op](In in) { return op(in[0], in[0].t()); }, leaf({3, 3}, 27, 0.5, 2));
  }
}

TEST_CASE("maximum/minimum: gradients away from ties, and the tie rule") {
  for (auto op : {BinaryFn(maximum), BinaryFn(minimum)}) {
    auto f = [op](In in) { return op(in[0], in[1]); };
    const std::vector<std::pair<Tensor, Tensor>> cases = {
        {leaf({2, 3}, 31), leaf({2, 3}, 32)},   {leaf({3, 1}, 33), leaf({1, 4}, 34)},
        {leaf({2, 3, 4}, 35), leaf({4}, 36)},   {leaf({}, 37), leaf({2, 3}, 38)},
    };
    for (const auto& [a, b] : cases) {
      REQUIRE(min_gap(a, b) > 1e-4);  // the finite difference (eps 1e-6) never crosses a tie
      CHECK_GRAD(f, a, b);
    }
    Tensor a = leaf({4, 3}, 39), b = leaf({3, 4}, 40);
    REQUIRE(min_gap(a.t(), b) > 1e-4);
    CHECK_GRAD([op](In in) { return op(in[0].t(), in[1]); }, a, b);
    Tensor c = leaf({3, 1}, 41), d = leaf({3, 8}, 42);
    REQUIRE(min_gap(c, d.slice(1, 1, 8, 2)) > 1e-4);
    CHECK_GRAD([op](In in) { return op(in[0].expand({3, 4}), in[1].slice(1, 1, 8, 2)); }, c, d);
  }
  // values, and on ties the whole gradient goes to a
  Tensor a = leaf_values({1, 5, 3}, {3}), b = leaf_values({2, 4, 3}, {3});
  Tensor mx = maximum(a, b), mn = minimum(a, b);
  check_values(mx, {2, 5, 3}, 0);
  check_values(mn, {1, 4, 3}, 0);
  sum(mx).backward();
  check_values(a.grad(), {0, 1, 1}, 0);
  check_values(b.grad(), {1, 0, 0}, 0);
  a.zero_grad();
  b.zero_grad();
  sum(mn).backward();
  check_values(a.grad(), {1, 0, 1}, 0);
  check_values(b.grad(), {0, 1, 0}, 0);
}

// ---- binary: values --------------------------------------------------------------------------

TEST_CASE("binary forward values with broadcasting, both dtypes") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(std::string(dtype_name(dt)));
    Tensor a = from_vector(std::vector<double>{1, 2, 3}, {3, 1}, {dt});
    Tensor b = from_vector(std::vector<double>{0.5, -2, 4, 8}, {1, 4}, {dt});
    // every input and result is exactly representable: exact comparison
    check_values(add(a, b), {1.5, -1, 5, 9, 2.5, 0, 6, 10, 3.5, 1, 7, 11}, 0);
    check_values(sub(a, b), {0.5, 3, -3, -7, 1.5, 4, -2, -6, 2.5, 5, -1, -5}, 0);
    check_values(mul(a, b), {0.5, -2, 4, 8, 1, -4, 8, 16, 1.5, -6, 12, 24}, 0);
    check_values(div(a, b), {2, -0.5, 0.25, 0.125, 4, -1, 0.5, 0.25, 6, -1.5, 0.75, 0.375}, 0);
    check_values(maximum(a, b), {1, 1, 4, 8, 2, 2, 4, 8, 3, 3, 4, 8}, 0);
    check_values(minimum(a, b), {0.5, -2, 1, 1, 0.5, -2, 2, 2, 0.5, -2, 3, 3}, 0);
    CHECK(add(a, b).dtype() == dt);
    CHECK(add(a, b).shape() == Shape{3, 4});
    // operators
    check_values(a + b, add(a, b).to_vector<double>(), 0);
    check_values(a - b, sub(a, b).to_vector<double>(), 0);
    check_values(a * b, mul(a, b).to_vector<double>(), 0);
    check_values(a / b, div(a, b).to_vector<double>(), 0);
    // a 0-d operand
    check_values(mul(scalar_tensor(3, {dt}), b), {1.5, -6, 12, 24}, 0);
    CHECK(add(scalar_tensor(1, {dt}), scalar_tensor(2, {dt})).dim() == 0);
  }
}

TEST_CASE("division by a float32 divisor rounds like float32") {
  // 1/3 in float32 vs float64: float32 keeps 24 bits (rel. error <= 2^-24 = 6e-8).
  Tensor q = div(full({1}, 1, {DType::Float32}), full({1}, 3, {DType::Float32}));
  CHECK(q.to_vector<float>()[0] == 1.0f / 3.0f);
  Tensor qd = div(full({1}, 1, {DType::Float64}), full({1}, 3, {DType::Float64}));
  CHECK(qd.item() == 1.0 / 3.0);
}

TEST_CASE("eq/gt/lt: 1 or 0 in the operands' dtype, broadcast, no gradient") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor a = from_vector(std::vector<double>{1, 2, 3}, {3, 1}, {dt, Device::cpu(), true});
    Tensor b = from_vector(std::vector<double>{2, 3}, {1, 2}, {dt});
    Tensor e = eq(a, b), g = gt(a, b), l = lt(a, b);
    CHECK(e.dtype() == dt);
    CHECK(e.shape() == Shape{3, 2});
    check_values(e, {0, 0, 1, 0, 0, 1}, 0);
    check_values(g, {0, 0, 0, 0, 1, 0}, 0);
    check_values(l, {1, 1, 0, 1, 0, 0}, 0);
    CHECK_FALSE(e.requires_grad());
    CHECK_FALSE(g.requires_grad());
    CHECK_FALSE(l.requires_grad());
    check_values(gt(a.t(), scalar_tensor(1.5, {dt})), {0, 1, 1}, 0);
  }
  // NaN compares false everywhere
  Tensor n = full({1}, NAN, {DType::Float64});
  CHECK(eq(n, n).item() == 0);
  CHECK(gt(n, full({1}, 0, {DType::Float64})).item() == 0);
}

// ---- unary: gradients ------------------------------------------------------------------------

TEST_CASE("unary ops: gradients on smooth domains, contiguous and strided") {
  const Tensor any = leaf({3, 4}, 51, -2, 2);     // smooth everywhere
  const Tensor pos = leaf({3, 4}, 52, 0.5, 2.5);  // log, sqrt, rsqrt, fractional pow
  // abs and relu away from their kink at 0: |x| >= 0.1
  const Tensor kinked = leaf_values({-1.5, -0.7, -0.1, 0.1, 0.4, 1.2, -0.3, 0.8, -2.0, 0.25, 1.7, -0.45}, {3, 4});
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    Tensor x;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, any},
      {"exp", [](const Tensor& x) { return exp(x); }, any},
      {"log", [](const Tensor& x) { return log(x); }, pos},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, pos},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, pos},
      {"abs", [](const Tensor& x) { return abs(x); }, kinked},
      {"tanh", [](const Tensor& x) { return tanh(x); }, any},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, any},
      {"silu", [](const Tensor& x) { return silu(x); }, any},
      {"relu", [](const Tensor& x) { return relu(x); }, kinked},
      {"gelu", [](const Tensor& x) { return gelu(x); }, any},
      {"pow 2", [](const Tensor& x) { return pow(x, 2.0); }, any},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, any},
      {"pow 0.5", [](const Tensor& x) { return pow(x, 0.5); }, pos},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); }, pos},
      {"pow 0", [](const Tensor& x) { return pow(x, 0.0); }, pos},
      {"pow 1", [](const Tensor& x) { return pow(x, 1.0); }, any},
      {"x + s", [](const Tensor& x) { return add(x, 1.5); }, any},
      {"s + x", [](const Tensor& x) { return 1.5 + x; }, any},
      {"x - s", [](const Tensor& x) { return sub(x, 0.75); }, any},
      {"s - x", [](const Tensor& x) { return sub(0.75, x); }, any},
      {"x * s", [](const Tensor& x) { return mul(x, -2.5); }, any},
      {"s * x", [](const Tensor& x) { return -2.5 * x; }, any},
      {"x / s", [](const Tensor& x) { return div(x, 3.0); }, any},
      {"s / x", [](const Tensor& x) { return div(3.0, x); }, pos},
      {"-x", [](const Tensor& x) { return -x; }, any},
      {"x - s op", [](const Tensor& x) { return x - 2.0; }, any},
      {"s - x op", [](const Tensor& x) { return 2.0 - x; }, any},
      {"x / s op", [](const Tensor& x) { return x / 4.0; }, any},
      {"s / x op", [](const Tensor& x) { return 4.0 / x; }, pos},
      {"x + s op", [](const Tensor& x) { return x + 4.0; }, any},
      {"x * s op", [](const Tensor& x) { return x * 4.0; }, any},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    auto f = c.f;
    CHECK_GRAD([f](In in) { return f(in[0]); }, c.x);
    CHECK_GRAD([f](In in) { return f(in[0].t()); }, c.x);                     // transposed
    CHECK_GRAD([f](In in) { return f(in[0].slice(1, 0, 4, 3)); }, c.x);       // step 3
    CHECK_GRAD([f](In in) { return f(in[0].select(0, 1).expand({2, 4})); }, c.x);  // stride 0
  }
}

// ---- unary: values ---------------------------------------------------------------------------

TEST_CASE("unary forward values against <cmath>, float32 and float64") {
  // References are computed in double from the very input the kernel saw (the float32 input
  // widened exactly). float32: each libm call is within ~1 ulp (2^-24 ≈ 6e-8 relative) and the
  // composite formulas (sigmoid, silu, gelu, rsqrt) chain 2-4 rounded steps, so 1e-6 relative
  // is a comfortable bound that a wrong formula (O(1) error) still fails. float64: the same
  // formulas in double, up to a few ulps (2.2e-16 each): 1e-14 relative.
  std::vector<double> xs, ps;
  for (double x = -3; x <= 3; x += 0.37) xs.push_back(x);
  for (double x = 0.05; x <= 6; x += 0.41) ps.push_back(x);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    std::function<double(double)> ref;
    bool positive;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, false},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, false},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, true},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, true},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, true},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, false},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, false},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sig, false},
      {"silu", [](const Tensor& x) { return silu(x); }, [sig](double x) { return x * sig(x); }, false},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, false},
      {"gelu", [](const Tensor& x) { return gelu(x); },
       [](double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }, false},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, false},
      {"pow 2.5", [](const Tensor& x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, true},
      {"pow -0.5", [](const Tensor& x) { return pow(x, -0.5); }, [](double x) { return std::pow(x, -0.5); }, true},
      // scalars exactly representable in float32, so the reference and the kernel see the same s
      {"x + 1.5", [](const Tensor& x) { return x + 1.5; }, [](double x) { return x + 1.5; }, false},
      {"1.5 + x", [](const Tensor& x) { return 1.5 + x; }, [](double x) { return 1.5 + x; }, false},
      {"x - 0.25", [](const Tensor& x) { return x - 0.25; }, [](double x) { return x - 0.25; }, false},
      {"0.25 - x", [](const Tensor& x) { return 0.25 - x; }, [](double x) { return 0.25 - x; }, false},
      {"x * -2.5", [](const Tensor& x) { return x * -2.5; }, [](double x) { return x * -2.5; }, false},
      {"-2.5 * x", [](const Tensor& x) { return -2.5 * x; }, [](double x) { return -2.5 * x; }, false},
      {"x / 3", [](const Tensor& x) { return x / 3.0; }, [](double x) { return x / 3; }, false},
      {"3 / x", [](const Tensor& x) { return 3.0 / x; }, [](double x) { return 3 / x; }, true},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    const std::vector<double>& in = c.positive ? ps : xs;
    for (DType dt : {DType::Float32, DType::Float64}) {
      CAPTURE(std::string(dtype_name(dt)));
      Tensor x = from_vector(in, {}, {dt});
      const std::vector<double> xv = x.to_vector<double>();  // the values the kernel sees
      std::vector<double> ref;
      for (double v : xv) ref.push_back(c.ref(v));
      Tensor y = c.f(x);
      CHECK(y.dtype() == dt);
      CHECK(y.shape() == x.shape());
      check_rel(y.to_vector<double>(), ref, dt == DType::Float32 ? 1e-6 : 1e-14, 1e-300);
    }
  }
}

TEST_CASE("gelu is the exact erf form") {
  // Phi(1) = 0.8413447460685429; the tanh approximation gives 0.8411919906082768 instead.
  check_values(gelu(full({1}, 1, {DType::Float64})), {0.8413447460685429}, 1e-15);
  check_rel(gelu(full({1}, 1, {DType::Float32})).to_vector<double>(), {0.8413447460685429}, 1e-6, 0);
  check_values(gelu(tensor({0, -1, 2}, {DType::Float64})), {0, -0.15865525393145707, 1.9544997361036416}, 1e-15);
  // The left tail: Phi(x) = (1 + erf(x/√2))/2 loses every digit to cancellation (float32 near
  // x = -5.5, float64 near -8.3) while gelu(x) = x Phi(x) is still a normal number. Through
  // erfc the result keeps its relative accuracy, up to erfc's own conditioning: the kernel and
  // this reference each round z = x/√2 once (u = 1.1e-16 relative), which erfc amplifies by
  // 2z² = x², hence the float64 tolerance 1e-14 + 2 x² u.
  for (double x : {-3.0, -6.0, -9.0, -12.0}) {
    CAPTURE(x);
    const double want = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    check_rel(gelu(full({1}, x, {DType::Float64})).to_vector<double>(), {want}, 1e-14 + 2 * x * x * 1.1e-16, 0);
    check_rel(gelu(full({1}, x, {DType::Float32})).to_vector<double>(), {want}, 1e-6, 0);
  }
}

TEST_CASE("unary ops on strided and large inputs match the contiguous result") {
  Generator gen(3);
  Tensor x = uniform({300, 257}, -2, 2, gen, {DType::Float64});
  // transposed, sliced with a step, expanded: compare with the op on a contiguous copy
  for (const Tensor& v : {x.t(), x.slice(1, 3, 250, 3), x.select(1, 5).unsqueeze(1).expand({300, 200})}) {
    CHECK_FALSE(v.is_contiguous());
    check_close(tanh(v), tanh(v.contiguous()), 0, 0);
    check_close(mul(v, 2.0), mul(v.contiguous(), 2.0), 0, 0);
  }
}

// ---- the strided loops underneath --------------------------------------------------------------

TEST_CASE("broadcast binary ops over many chunks match a naive loop; threads do not matter") {
  // (300, 1) op (1, 500) = 150000 elements: several 32768-element tasks that start mid-row.
  Generator gen(4);
  Tensor a = uniform({300, 1}, -1, 1, gen, {DType::Float64});
  Tensor b = uniform({500, 1}, 0.5, 1.5, gen, {DType::Float64});
  Tensor bt = b.t();  // (1, 500) with stride 1 after the transpose
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  Tensor out = div(a, bt);
  REQUIRE(out.shape() == Shape{300, 500});
  const std::vector<double> ov = out.to_vector<double>();
  for (size_t i = 0; i < 300; ++i)
    for (size_t j = 0; j < 500; ++j) REQUIRE(ov[i * 500 + j] == av[i] / bv[j]);
  // a transposed large operand, one and two threads
  Tensor c = uniform({500, 300}, -1, 1, gen, {DType::Float64});
  std::vector<double> r1, r2;
  {
    ThreadsScope t(1);
    r1 = add(c.t(), a).to_vector<double>();
  }
  {
    ThreadsScope t(2);
    r2 = add(c.t(), a).to_vector<double>();
  }
  CHECK(r1 == r2);
  const std::vector<double> cv = c.to_vector<double>();
  for (size_t i = 0; i < 300; ++i)
    for (size_t j = 0; j < 500; ++j) REQUIRE(r1[i * 500 + j] == cv[j * 300 + i] + av[i]);
}

TEST_CASE("elementwise ops on a 9-d permuted tensor (more dims than the fast index path)") {
  Tensor x = arange(0, 512, 1, {DType::Float64}).view({2, 2, 2, 2, 2, 2, 2, 2, 2});
  Tensor p = x.permute({8, 7, 6, 5, 4, 3, 2, 1, 0});
  Tensor y = add(p, 1.0);
  const std::vector<double> pv = p.to_vector<double>(), yv = y.to_vector<double>();
  for (size_t i = 0; i < 512; ++i) REQUIRE(yv[i] == pv[i] + 1);
  // p[i0..i8] = x[i8..i0]: the flat index with its 9 bits reversed
  for (size_t i = 0; i < 512; ++i) {
    size_t r = 0;
    for (int bit = 0; bit < 9; ++bit) r |= ((i >> bit) & 1) << (8 - bit);
    REQUIRE(pv[i] == double(r));
  }
  check_close(mul(p, p.contiguous()), mul(p.contiguous(), p.contiguous()), 0, 0);
}

// ---- errors ----------------------------------------------------------------------------------

TEST_CASE("binary ops: dtype, shape and integer errors name the op and the shapes") {
  Tensor f = zeros({2, 3}), d = zeros({3}, {DType::Float64}), i = zeros({2, 3}, {DType::Int64});
  CHECK_THROWS_WITH_PART(add(f, d), "add: dtype mismatch");
  CHECK_THROWS_WITH_PART(add(f, d), "float32 (2, 3) vs float64 (3,)");
  CHECK_THROWS_WITH_PART(mul(d, f), "mul: dtype mismatch");
  CHECK_THROWS_WITH_PART(maximum(f, d), "maximum");
  CHECK_THROWS_WITH_PART(eq(f, d), "eq");
  CHECK_THROWS_WITH_PART(sub(f, zeros({4})), "sub: cannot broadcast (2, 3) with (4,)");
  CHECK_THROWS_WITH_PART(div(zeros({2, 3, 1}), zeros({4, 5})), "div: cannot broadcast (2, 3, 1) with (4, 5)");
  CHECK_THROWS_WITH_PART(minimum(zeros({3}), zeros({2})), "minimum");
  CHECK_THROWS_WITH_PART(lt(zeros({3}), zeros({2})), "lt");
  CHECK_THROWS_WITH_PART(add(i, i), "add: needs a floating tensor, got int64 (2, 3)");
  CHECK_THROWS_WITH_PART(gt(i, i), "gt");
  CHECK_THROWS_WITH_PART(add(f, Tensor()), "add: undefined tensor");
  // a device mismatch cannot be built without a second backend: creating a cuda tensor on a
  // cpu-only build is itself the error
#ifndef DIFFT_WITH_CUDA
  CHECK_THROWS_WITH_PART(zeros({2}, {DType::Float32, Device::cuda()}), "cuda");
#endif
}

TEST_CASE("unary ops: integer and undefined inputs throw with the op name") {
  Tensor i = zeros({2}, {DType::Int64});
  CHECK_THROWS_WITH_PART(exp(i), "exp: needs a floating tensor, got int64 (2,)");
  CHECK_THROWS_WITH_PART(gelu(i), "gelu");
  CHECK_THROWS_WITH_PART(pow(i, 2.0), "pow");
  CHECK_THROWS_WITH_PART(mul(i, 2.0), "mul");
  CHECK_THROWS_WITH_PART(relu(Tensor()), "relu: undefined");
}
