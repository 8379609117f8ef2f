// test_ops_softmax.cpp: softmax, log_softmax and cross_entropy: gradients, closed-form values,
// masking, precision of the float32 path, and argument errors.
//
// Tolerances: float64 values are checked to 1e-12 (a few ulps of accumulated rounding);
// float32 to 1e-6 relative (a few float ulps: the float exp is accurate to ~2 ulp and each
// output goes through one or two more roundings).
#include <limits>

#include "core/error.h"  // tests/helpers.h uses difft::Error without including it
#include "core/parallel.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

Tensor targets(const std::vector<int64_t>& v, const Shape& s) { return from_vector(v, s, {DType::Int64}); }

Tensor values(const std::vector<double>& v, const Shape& s, DType dt) { return from_vector(v, s, {dt}); }

double tol_for(DType dt) { return dt == DType::Float32 ? 1e-6 : 1e-12; }

const DType kBoth[] = {DType::Float32, DType::Float64};

}  // namespace

// ---- gradients (float64 central differences) -----------------------------------------------

TEST_CASE("softmax and log_softmax gradients over every dim of a 3-d tensor") {
  for (bool log : {false, true}) {
    INFO("log_softmax: " << log);
    auto op = [log](const Tensor& x, int64_t d) { return log ? log_softmax(x, d) : softmax(x, d); };
    for (int64_t d : {-1, 0, 1, 2}) {
      INFO("dim " << d);
      CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0], d); }, leaf({2, 3, 4}, 10));
    }
  }
}

TEST_CASE("softmax and log_softmax gradients on transposed, sliced and expanded views") {
  for (bool log : {false, true}) {
    INFO("log_softmax: " << log);
    auto op = [log](const Tensor& x, int64_t d) { return log ? log_softmax(x, d) : softmax(x, d); };
    // a 2-d transpose: rows of the view are columns of the leaf
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].t(), -1); }, leaf({5, 3}, 11));
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].t(), 0); }, leaf({5, 3}, 12));
    // a 3-d permutation, softmax over the middle dim
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].transpose(0, 2), 1); }, leaf({4, 3, 2}, 13));
    // strided slices (step 2 in the softmax dim, offset in another)
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].slice(1, 0, 7, 2), -1); }, leaf({3, 7}, 14));
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].slice(0, 1, 3), 0); }, leaf({3, 2, 4}, 15));
    // a broadcast operand: every copy gets its gradient summed back into the leaf
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0].expand({2, 3, 4}), 1); }, leaf({3, 4}, 16));
    // a non-contiguous incoming gradient (the transpose after the op)
    CHECK_GRAD([&](const std::vector<Tensor>& in) { return op(in[0], 0).t(); }, leaf({4, 6}, 17));
  }
}

TEST_CASE("softmax gradient over rows longer than the kernel's vector lanes") {
  // 150 = two full blocks of 64 lanes plus a tail: the summation paths of the kernel
  CHECK_GRAD([](const std::vector<Tensor>& in) { return softmax(in[0], -1); }, leaf({2, 150}, 18, -3.0, 3.0));
  CHECK_GRAD([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, leaf({150, 2}, 19, -3.0, 3.0));
}

TEST_CASE("cross_entropy gradient with ignored targets, 2-d and 3-d logits") {
  const Tensor t2 = targets({2, -100, 0, 3, -100}, {5});
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t2); }, leaf({5, 4}, 20, -2.0, 2.0));
  // the same on a transposed (non-contiguous) view of the logits
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0].t(), t2); }, leaf({4, 5}, 21, -2.0, 2.0));
  const Tensor t3 = targets({1, 0, -100, 3, 2, 2}, {2, 3});
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t3); }, leaf({2, 3, 4}, 22, -2.0, 2.0));
  // a custom ignore_index that is itself a valid class
  const Tensor t4 = targets({1, 0, 1, 3}, {4});
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t4, 1); }, leaf({4, 4}, 23, -2.0, 2.0));
  // the loss inside a larger graph: scaled and added to another term
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t2) * 3.0 + sum(in[0] * in[0]); },
             leaf({5, 4}, 24));
}

TEST_CASE("cross_entropy equals the mean of -log_softmax at the targets, gradient included") {
  const Tensor t = targets({2, -100, 0, 1}, {4});
  // one-hot of the non-ignored targets, divided by their count (3)
  std::vector<double> pick(4 * 3, 0.0);
  pick[0 * 3 + 2] = pick[2 * 3 + 0] = pick[3 * 3 + 1] = 1.0 / 3.0;
  const Tensor w = values(pick, {4, 3}, DType::Float64);
  Tensor a = leaf({4, 3}, 25, -3.0, 3.0), b = a.detach().clone();
  b.requires_grad_();
  Tensor ce = cross_entropy(a, t), ref = -sum(log_softmax(b, -1) * w);
  check_close(ce, ref, 1e-12, 1e-12);
  ce.backward();
  ref.backward();
  check_close(a.grad(), b.grad(), 1e-12, 1e-12);
}

// ---- forward values ------------------------------------------------------------------------

TEST_CASE("softmax of [0, ln2, ln3] is [1/6, 2/6, 3/6]; log_softmax is its log") {
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    const Tensor x = values({0.0, std::log(2.0), std::log(3.0)}, {3}, dt);
    check_values(softmax(x), {1.0 / 6, 2.0 / 6, 3.0 / 6}, tol_for(dt));
    check_values(log_softmax(x), {std::log(1.0 / 6), std::log(2.0 / 6), std::log(3.0 / 6)}, tol_for(dt));
    // the same row along dim 0 of a column, and shifted by a constant (softmax is shift-invariant)
    check_values(softmax(x.unsqueeze(1), 0), {1.0 / 6, 2.0 / 6, 3.0 / 6}, tol_for(dt));
    check_values(softmax(x + 7.5), {1.0 / 6, 2.0 / 6, 3.0 / 6}, tol_for(dt));
  }
}

TEST_CASE("softmax rows sum to 1 along any dim, on views too") {
  Generator gen(30);
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    const Tensor x = uniform({5, 70, 3}, -4.0, 4.0, gen, {dt});
    for (int64_t d : {0, 1, 2}) {
      INFO("dim " << d);
      const Tensor y = softmax(x, d);
      CHECK(y.shape() == x.shape());
      CHECK(y.is_contiguous());
      Shape ones_shape = x.shape();
      ones_shape.erase(ones_shape.begin() + d);
      check_close(sum(y, {d}), ones(ones_shape, {dt}), tol_for(dt), 0.0);
      check_close(sum(exp(log_softmax(x, d)), {d}), ones(ones_shape, {dt}), 10 * tol_for(dt), 0.0);
    }
    const Tensor v = x.transpose(0, 1).slice(0, 1, 70, 3);  // (23, 5, 3), strided
    check_close(sum(softmax(v, 1), {1}), ones({23, 3}, {dt}), tol_for(dt), 0.0);
  }
}

TEST_CASE("softmax over a non-last dim equals softmax of the moved tensor") {
  Generator gen(31);
  const Tensor x = uniform({3, 4, 5}, -2.0, 2.0, gen, {DType::Float64});
  check_close(softmax(x, 1), softmax(x.transpose(1, 2), 2).transpose(1, 2), 1e-15, 0.0);
  check_close(log_softmax(x, 0), log_softmax(x.transpose(0, 2), 2).transpose(0, 2), 1e-15, 0.0);
}

TEST_CASE("large logits stay finite and exact") {
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    const Tensor x = values({1000.0, 1001.0, 1002.0, -1000.0, 0.0, 1000.0}, {2, 3}, dt);
    // softmax([1000, 1001, 1002]) = softmax([0, 1, 2]); e^-2000 underflows to an exact 0
    const double z = 1.0 + std::exp(1.0) + std::exp(2.0);
    const double e1000 = std::exp(-1000.0);  // 0 in double: the exact value is below its range
    check_values(softmax(x, 1), {1 / z, std::exp(1.0) / z, std::exp(2.0) / z, 0.0, e1000, 1.0}, tol_for(dt));
    check_values(log_softmax(x, 1), {-std::log(z), 1 - std::log(z), 2 - std::log(z), -2000.0, -1000.0, 0.0},
                 tol_for(dt));
    // loss = lse - x[t]: row 0 target 2 -> log z - 2; row 1 target 0 -> 2000
    const Tensor ce = cross_entropy(x, targets({2, 0}, {2}));
    check_values(ce, {(std::log(z) - 2.0 + 2000.0) / 2}, tol_for(dt));
    Tensor xl = x.detach().clone();
    xl.requires_grad_();
    cross_entropy(xl, targets({2, 0}, {2})).backward();
    // glogits = (softmax - onehot) / 2
    check_values(xl.grad(), {0.5 / z, 0.5 * std::exp(1.0) / z, 0.5 * (std::exp(2.0) / z - 1), -0.5, 0.0, 0.5},
                 dt == DType::Float32 ? 1e-5 : 1e-12);  // float32: lse at 1000 is rounded to 6e-5
  }
}

TEST_CASE("cross entropy of uniform logits is ln V") {
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    for (int64_t v : {1, 7, 100}) {
      INFO("V = " << v);
      const Tensor logits = full({3, v}, 2.5, {dt});
      check_values(cross_entropy(logits, targets({0, v - 1, v / 2}, {3})), {std::log(double(v))}, tol_for(dt));
    }
  }
}

TEST_CASE("cross entropy closed form with an ignored target") {
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    const double l2 = std::log(2.0), l3 = std::log(3.0);
    const Tensor x = values({0, l2, l3, 0, l2, l3, 5, -5, 0}, {3, 3}, dt);
    // p = [1/6, 2/6, 3/6] in rows 0 and 1: -log p[1] = ln 3, -log p[0] = ln 6; row 2 ignored
    check_values(cross_entropy(x, targets({1, 0, -100}, {3})), {(l3 + std::log(6.0)) / 2}, tol_for(dt));
    // 3-d logits (1, 3, 3) with a leading dim
    check_values(cross_entropy(x.unsqueeze(0), targets({1, 0, -100}, {1, 3})), {(l3 + std::log(6.0)) / 2},
                 tol_for(dt));
  }
}

TEST_CASE("cross entropy reads strided and broadcast targets") {
  const double l2 = std::log(2.0), l3 = std::log(3.0);
  const Tensor x = values({0, l2, l3, 0, l2, l3, 0, l2, l3}, {3, 3}, DType::Float64);
  // every other entry of (0, 9, 1, 9, 2): a stride-2 view; p = [1/6, 2/6, 3/6]
  const Tensor strided = targets({0, 9, 1, 9, 2}, {5}).slice(0, 0, 5, 2);
  check_values(cross_entropy(x, strided), {(std::log(6.0) + l3 + l2) / 3}, 1e-12);
  // one target broadcast to every row (stride 0)
  const Tensor same = targets({2}, {1}).expand({3});
  check_values(cross_entropy(x, same), {l2}, 1e-12);
  CHECK_GRAD([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], strided); }, leaf({3, 3}, 45));
}

TEST_CASE("cross entropy with every target ignored is 0 with a zero gradient") {
  Tensor x = leaf({3, 4}, 40);
  Tensor loss = cross_entropy(x, targets({-100, -100, -100}, {3}));
  CHECK(loss.dim() == 0);
  CHECK(loss.item() == 0.0);
  loss.backward();
  REQUIRE(x.grad().defined());
  check_values(x.grad(), std::vector<double>(12, 0.0), 0.0);
  // no rows at all: the same
  Tensor e = leaf({0, 4}, 41);
  Tensor le = cross_entropy(e, targets({}, {0}));
  CHECK(le.item() == 0.0);
  le.backward();
  CHECK(e.grad().shape() == Shape{0, 4});
}

TEST_CASE("float32 softmax matches float64 to 1e-6 relative, exponents down to -80") {
  // Exercises the vectorized float exp over its whole range. Column 0 is 0 and the rest are
  // negative, so the row max is 0 and x - max is exact in float: what remains is the exp (~2 ulp)
  // and the normalisation (~2 roundings), well under 1e-6 even for e^-80 (atol 0: relative to
  // every element). With a nonzero max, float rounding of x - max adds up to |x - max|·2^-24
  // relative, the same as PyTorch's float softmax; the second check allows for that.
  Generator gen(42);
  Tensor x32 = uniform({8, 1000}, -80.0, 0.0, gen, {DType::Float32});
  for (int64_t r = 0; r < 8; ++r) x32.set({r, 0}, 0.0);
  const Tensor x64 = x32.to(DType::Float64);  // the very same inputs
  check_close(softmax(x32), softmax(x64), 0.0, 1e-6);
  check_close(log_softmax(x32), log_softmax(x64), 1e-6, 1e-6);
  const Tensor t = targets({0, 1, 2, 3, 999, 500, 7, -100}, {8});
  check_close(cross_entropy(x32, t), cross_entropy(x64, t), 0.0, 1e-6);
  // shifted by +3.3: x - max is rounded now (|x - max| <= 80, so at most 80·2^-24 = 4.8e-6)
  const Tensor shifted = x32 + 3.3;
  check_close(softmax(shifted), softmax(shifted.to(DType::Float64)), 0.0, 6e-6);
}

TEST_CASE("the float32 exp of the kernels is within 1e-7 relative of exp") {
  // log_softmax's backward is gx = gy - e^y Σ gy. With gy = -1 in column 0 and 0 elsewhere,
  // Σ gy = -1 and gx[:, j>0] = e^(y[:, j]) exactly as the kernel's float exp computes it, so
  // this checks the exp itself over y in about [-81, 0] (measured max error 0.94 ulp = 7.9e-8).
  Generator gen(44);
  Tensor x = uniform({4, 1000}, -80.0, 0.0, gen, {DType::Float32});
  x.requires_grad_();
  const Tensor y = log_softmax(x);
  std::vector<float> w(4 * 1000, 0.0f);
  for (size_t r = 0; r < 4; ++r) w[r * 1000] = -1.0f;
  sum(y * from_vector(w, {4, 1000})).backward();
  const std::vector<float> yv = y.to_vector<float>(), gv = x.grad().to_vector<float>();
  double worst = 0.0;
  for (size_t i = 0; i < yv.size(); ++i) {
    if (i % 1000 == 0) continue;
    const double want = std::exp(double(yv[i]));
    worst = std::max(worst, std::abs(double(gv[i]) - want) / want);
  }
  CHECK(worst <= 1e-7);
  CHECK(worst > 0.0);  // the kernel really used the float exp, not a double one
}

TEST_CASE("results do not depend on the number of threads") {
  Generator gen(43);
  const Tensor x = uniform({300, 257}, -5.0, 5.0, gen, {DType::Float32});
  std::vector<int64_t> tv(300);
  for (int64_t i = 0; i < 300; ++i) tv[size_t(i)] = (i * 37) % 257;
  const Tensor t = targets(tv, {300});
  auto run = [&] {
    Tensor xl = x.detach().clone();
    xl.requires_grad_();
    Tensor loss = cross_entropy(xl, t);
    loss.backward();
    return std::vector<Tensor>{softmax(x, 0), log_softmax(x), loss, xl.grad()};
  };
  const int before = num_threads();
  set_num_threads(1);
  const std::vector<Tensor> one = run();
  set_num_threads(2);
  const std::vector<Tensor> two = run();
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) CHECK(one[i].to_vector<float>() == two[i].to_vector<float>());
}

// ---- masking and edge cases ----------------------------------------------------------------

TEST_CASE("-inf entries give exact zeros; a fully -inf row gives NaN like PyTorch") {
  for (DType dt : kBoth) {
    INFO(dtype_name(dt));
    const Tensor x = values({0.0, -kInf, std::log(2.0), -kInf, -kInf, -kInf}, {2, 3}, dt);
    const Tensor y = softmax(x);
    CHECK(y.at({0, 1}) == 0.0);  // exact
    CHECK(std::abs(y.at({0, 0}) - 1.0 / 3) <= tol_for(dt));
    CHECK(std::abs(y.at({0, 2}) - 2.0 / 3) <= tol_for(dt));
    const Tensor ly = log_softmax(x);
    CHECK(ly.at({0, 1}) == -kInf);
    CHECK(std::abs(ly.at({0, 0}) + std::log(3.0)) <= tol_for(dt));
    for (int64_t j = 0; j < 3; ++j) {
      CHECK(std::isnan(y.at({1, j})));
      CHECK(std::isnan(ly.at({1, j})));
    }
  }
  // the gradient reaching a masked entry is exactly 0 for softmax
  Tensor x = values({0.5, -kInf, 1.0, -0.25}, {4}, DType::Float64);
  x.requires_grad_();
  sum(softmax(x) * values({1, 2, 3, 4}, {4}, DType::Float64)).backward();
  CHECK(x.grad().at({1}) == 0.0);
  CHECK(x.grad().at({0}) != 0.0);
}

TEST_CASE("cross entropy with a masked (-inf) logit at a non-target class") {
  Tensor x = values({0.0, -kInf, 0.0}, {1, 3}, DType::Float64);
  x.requires_grad_();
  Tensor loss = cross_entropy(x, targets({0}, {1}));
  check_values(loss, {std::log(2.0)}, 1e-12);
  loss.backward();
  check_values(x.grad(), {-0.5, 0.0, 0.5}, 1e-12);
}

TEST_CASE("softmax of a scalar is 1; of an empty tensor is empty") {
  Tensor s = scalar_tensor(3.0, {DType::Float64});
  CHECK(softmax(s).item() == 1.0);
  CHECK(log_softmax(s, 0).item() == 0.0);
  Tensor e = zeros({2, 0}, {DType::Float64});
  CHECK(softmax(e, 1).shape() == Shape{2, 0});
  CHECK(log_softmax(e, 0).shape() == Shape{2, 0});
}

TEST_CASE("modifying the softmax output in place before backward is detected") {
  Tensor x = leaf({2, 3}, 50);
  Tensor y = softmax(x);
  Tensor loss = sum(y * y);
  {
    NoGradGuard no_grad;
    y.mul_(2.0);
  }
  CHECK_THROWS_WITH_PART(loss.backward(), "modified in place");
}

// ---- errors --------------------------------------------------------------------------------

TEST_CASE("softmax argument errors") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_PART(softmax(x, 2), "softmax: dim 2 out of range");
  CHECK_THROWS_WITH_PART(log_softmax(x, -3), "log_softmax: dim -3 out of range");
  const Tensor i = targets({1, 2, 3}, {3});
  CHECK_THROWS_WITH_PART(softmax(i), "softmax: needs a floating tensor, got int64");
  CHECK_THROWS_WITH_PART(log_softmax(i), "log_softmax: needs a floating tensor, got int64");
}

TEST_CASE("cross_entropy argument errors") {
  const Tensor logits = zeros({2, 3, 5});
  CHECK_THROWS_WITH_PART((cross_entropy(logits, zeros({2, 3}))), "targets must be int64 class indices, got float32");
  CHECK_THROWS_WITH_PART((cross_entropy(logits, targets({0, 1, 2}, {3}))),
                         "targets (3,) must have the leading shape (2, 3) of logits (2, 3, 5)");
  CHECK_THROWS_WITH_PART((cross_entropy(logits, targets({0, 1, 2, 3, 4, 0}, {3, 2}))), "leading shape (2, 3)");
  CHECK_THROWS_WITH_PART((cross_entropy(logits, targets({0, 1, 2, 7, 4, 0}, {2, 3}))),
                         "target 7 at position (1, 0) is out of range [0, 5)");
  CHECK_THROWS_WITH_PART((cross_entropy(logits, targets({0, -1, 2, 3, 4, 0}, {2, 3}))),
                         "target -1 at position (0, 1) is out of range [0, 5)");
  CHECK_THROWS_WITH_PART((cross_entropy(zeros({5}), targets({0}, {1}))), "logits must be (..., V) with at least 2 dims, got (5,)");
  CHECK_THROWS_WITH_PART((cross_entropy(targets({0, 1}, {1, 2}), targets({0}, {1}))), "needs a floating tensor, got int64");
  CHECK_THROWS_WITH_PART((cross_entropy(zeros({2, 0}), targets({-100, -100}, {2}))), "have no classes");
}
