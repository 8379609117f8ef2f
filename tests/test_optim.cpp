// test_optim.cpp: AdamW, SGD, gradient clipping, learning-rate schedules, gradient accumulation.
//
// AdamW is checked against an independent double-precision loop of torch 1.13's documented
// _single_tensor_adamw (written out below, element by element). Tolerances: float64 1e-14
// relative (the kernel differs from the loop only in the order of a few roundings, ~1e-16 per
// step); float32 1e-6 relative (24-bit rounding of p, m, v and the scalars over a few steps;
// parameters are kept in [0.5, 2] so relative error is meaningful). SGD and clipping are
// checked against values worked out by hand, schedules against closed forms.
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "optim/optim.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;
using namespace difft::optim;

namespace {

// torch 1.13 _single_tensor_adamw for one parameter, in double.
struct RefAdamW {
  std::vector<double> p, m, v;
  int64_t t = 0;
  explicit RefAdamW(std::vector<double> p0) : p(std::move(p0)), m(p.size(), 0.0), v(p.size(), 0.0) {}
  void step(const std::vector<double>& g, double lr, double b1, double b2, double eps, double wd) {
    ++t;
    const double bias_correction1 = 1.0 - std::pow(b1, double(t));
    const double bias_correction2 = 1.0 - std::pow(b2, double(t));
    for (size_t i = 0; i < p.size(); ++i) {
      p[i] *= 1.0 - lr * wd;
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      const double denom = std::sqrt(v[i]) / std::sqrt(bias_correction2) + eps;
      p[i] -= lr / bias_correction1 * m[i] / denom;
    }
  }
};

std::vector<double> uniform_values(size_t n, uint64_t seed, double lo, double hi) {
  Generator gen(seed);
  return uniform({int64_t(n)}, lo, hi, gen, {DType::Float64}).to_vector<double>();
}

// The values a dtype holds for v (float32 rounds), so the reference starts from the same numbers.
std::vector<double> as_stored(const std::vector<double>& v, DType dt) {
  return from_vector(v, {int64_t(v.size())}, {dt}).to_vector<double>();
}

Tensor param(const std::vector<double>& v, const Shape& s, DType dt) {
  return from_vector(v, s, {dt, Device::cpu(), true});
}

void check_rel(const Tensor& a, const std::vector<double>& want, double rtol) {
  const std::vector<double> x = a.to_vector<double>();
  REQUIRE(x.size() == want.size());
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " vs " << want[i]);
    REQUIRE(std::abs(x[i] - want[i]) <= rtol * std::abs(want[i]));
  }
}

double rtol_for(DType dt) { return dt == DType::Float64 ? 1e-14 : 1e-6; }

const DType kFloatTypes[] = {DType::Float32, DType::Float64};

}  // namespace

// ---- AdamW ----------------------------------------------------------------------------------

TEST_CASE("AdamW: one step matches torch's algorithm (float32 and float64)") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const std::vector<double> p0 = as_stored(uniform_values(12, 1, 0.5, 2.0), dt);
    const std::vector<double> g = as_stored(uniform_values(12, 2, -1.0, 1.0), dt);
    Tensor p = param(p0, {3, 4}, dt);
    ParamGroup grp;
    grp.params = {p};
    grp.weight_decay = 0.1;
    AdamW opt({grp}, {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0});
    p.set_grad(from_vector(g, {3, 4}, {dt}));
    opt.step();
    RefAdamW ref(p0);
    ref.step(g, 0.01, 0.9, 0.999, 1e-8, 0.1);
    check_rel(p, ref.p, rtol_for(dt));
    CHECK(opt.step_count() == 1);
    // The moments are the reference's too (state_tensors order: exp_avg, exp_avg_sq).
    const auto st = opt.state_tensors();
    REQUIRE(st.size() == 2);
    CHECK(st[0].first == "0.0.exp_avg");
    CHECK(st[1].first == "0.0.exp_avg_sq");
    check_rel(st[0].second, ref.m, rtol_for(dt));
    check_rel(st[1].second, ref.v, rtol_for(dt));
  }
}

TEST_CASE("AdamW: five steps with changing gradients and lr, two param groups, lr_scale") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const std::vector<double> w0 = as_stored(uniform_values(6, 3, 0.5, 2.0), dt), b0 = as_stored(uniform_values(3, 4, 0.5, 2.0), dt);
    Tensor w = param(w0, {2, 3}, dt), b = param(b0, {3}, dt);
    ParamGroup gw, gb;
    gw.params = {w};
    gw.weight_decay = 0.05;
    gb.params = {b};
    gb.lr_scale = 0.5;  // and no weight_decay: the options' default applies
    const AdamWOptions o{.lr = 0.02, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.3};
    AdamW opt({gw, gb}, o);
    RefAdamW rw(w0), rb(b0);
    for (int s = 0; s < 5; ++s) {
      CAPTURE(s);
      opt.lr = 0.02 * (1.0 + 0.25 * s);  // a schedule changes lr between steps
      // gradients of mixed magnitude, including a zero
      std::vector<double> gw_v = as_stored(uniform_values(6, 10 + s, -2.0, 2.0), dt), gb_v = as_stored(uniform_values(3, 20 + s, -1e-3, 1e-3), dt);
      gw_v[1] = 0.0;
      w.set_grad(from_vector(gw_v, {2, 3}, {dt}));
      b.set_grad(from_vector(gb_v, {3}, {dt}));
      opt.step();
      rw.step(gw_v, opt.lr, 0.8, 0.95, 1e-6, 0.05);
      rb.step(gb_v, opt.lr * 0.5, 0.8, 0.95, 1e-6, 0.3);
      check_rel(w, rw.p, rtol_for(dt));
      check_rel(b, rb.p, rtol_for(dt));
    }
    CHECK(opt.step_count() == 5);
  }
}

TEST_CASE("AdamW: decay_groups decays matrices only") {
  const std::vector<double> w0 = uniform_values(6, 5, 0.5, 2.0), e0 = uniform_values(8, 6, 0.5, 2.0), n0 = uniform_values(3, 7, 0.5, 2.0);
  Tensor w = param(w0, {3, 2}, DType::Float64), e = param(e0, {4, 2}, DType::Float64), n = param(n0, {3}, DType::Float64);
  const std::vector<ParamGroup> groups = decay_groups({{"w", w}, {"norm", n}, {"emb", e}}, 0.1);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].names == std::vector<std::string>{"w", "emb"});
  CHECK(groups[0].weight_decay == 0.1);
  CHECK(groups[1].names == std::vector<std::string>{"norm"});
  CHECK(groups[1].weight_decay == 0.0);  // explicitly 0, not "the optimizer's default"

  // The optimizer's default weight decay (0.5) must not reach the no-decay group.
  AdamW opt(groups, {.lr = 0.01, .weight_decay = 0.5});
  // Zero gradients: Adam's update is 0 / (0 + eps) = 0, so only the decay moves a parameter.
  for (Tensor p : {w, e, n}) p.set_grad(zeros(p.shape(), {DType::Float64}));
  opt.step();
  std::vector<double> w1 = w0, e1 = e0;
  for (double& x : w1) x *= 1.0 - 0.01 * 0.1;
  for (double& x : e1) x *= 1.0 - 0.01 * 0.1;
  check_rel(w, w1, 1e-15);
  check_rel(e, e1, 1e-15);
  CHECK(n.to_vector<double>() == n0);

  // With gradients, each group follows the reference with its own decay.
  const std::vector<double> gw = uniform_values(6, 8, -1, 1), gn = uniform_values(3, 9, -1, 1);
  RefAdamW rw(w.to_vector<double>()), rn(n0);
  rw.t = rn.t = 1;  // m = v = 0 after a zero-gradient step
  w.set_grad(from_vector(gw, {3, 2}, {DType::Float64}));
  n.set_grad(from_vector(gn, {3}, {DType::Float64}));
  e.zero_grad();
  opt.step();
  rw.step(gw, 0.01, 0.9, 0.999, 1e-8, 0.1);
  rn.step(gn, 0.01, 0.9, 0.999, 1e-8, 0.0);
  check_rel(w, rw.p, 1e-14);
  check_rel(n, rn.p, 1e-14);
}

TEST_CASE("AdamW: parameters without a gradient are skipped") {
  Tensor a = param({1.0, 2.0}, {2}, DType::Float64), b = param({3.0, 4.0}, {2}, DType::Float64);
  ParamGroup g;
  g.params = {a, b};
  g.names = {"a", "b"};
  AdamW opt({g}, {.lr = 0.1, .weight_decay = 0.1});
  a.set_grad(from_vector(std::vector<double>{0.5, -0.5}, {2}, {DType::Float64}));
  const uint64_t b_version = b.version();
  opt.step();
  CHECK(b.to_vector<double>() == std::vector<double>{3.0, 4.0});  // not even decayed
  CHECK(b.version() == b_version);
  for (const auto& [name, t] : opt.state_tensors())
    if (name.rfind("b.", 0) == 0) CHECK(t.to_vector<double>() == std::vector<double>{0.0, 0.0});
  RefAdamW ra({1.0, 2.0});
  ra.step({0.5, -0.5}, 0.1, 0.9, 0.999, 1e-8, 0.1);
  check_rel(a, ra.p, 1e-14);
  // zero_grad drops gradients: a second step moves nothing
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  const std::vector<double> a1 = a.to_vector<double>();
  opt.step();
  CHECK(a.to_vector<double>() == a1);
}

TEST_CASE("AdamW: invalid construction and gradients throw") {
  Tensor p = param({1.0}, {1}, DType::Float64);
  ParamGroup g;
  g.params = {p};
  CHECK_THROWS_WITH_PART(AdamW({g}, {.lr = -1e-3}), "AdamW: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(AdamW({g}, {.beta1 = 1.0}), "AdamW: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(AdamW({g}, {.beta2 = 1.0}), "betas 0.9/1");
  CHECK_THROWS_WITH_PART(AdamW({g}, {.beta1 = -0.1}), "AdamW: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(AdamW({g}, {.eps = 0.0}), "AdamW: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(AdamW({g}, {.weight_decay = -0.1}), "AdamW: invalid hyperparameters");
  ParamGroup neg = g;
  neg.weight_decay = -1.0;
  CHECK_THROWS_WITH_PART(AdamW({neg}), "AdamW: group 0 has invalid weight_decay");

  ParamGroup frozen;
  frozen.params = {from_vector(std::vector<double>{1.0}, {1}, {DType::Float64})};
  frozen.names = {"frozen"};
  CHECK_THROWS_WITH_PART(AdamW({frozen}), "parameter frozen must be a leaf that requires grad");
  ParamGroup nonleaf;
  nonleaf.params = {mul(p, 2.0)};
  CHECK_THROWS_WITH_PART(AdamW({nonleaf}), "must be a leaf");
  ParamGroup view;
  Tensor m = param({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  view.params = {m.t()};
  CHECK_THROWS_WITH_PART(SGD({view}), "must be a leaf");  // a view of a parameter is not a leaf
  ParamGroup strided;
  Tensor mt = m.detach().t();
  mt.requires_grad_();  // a leaf with a transposed layout
  strided.params = {mt};
  CHECK_THROWS_WITH_PART(SGD({strided}), "SGD: parameter 0.0 (3, 2) must be contiguous");

  AdamW opt({g});
  p.set_grad(from_vector(std::vector<float>{1.0f}, {1}, {DType::Float32}));
  CHECK_THROWS_WITH_PART(opt.step(), "AdamW: gradient of 0.0 is float32 (1,) for a float64 parameter (1,)");
}

// ---- SGD ------------------------------------------------------------------------------------

TEST_CASE("SGD: plain, weight decay, momentum and nesterov against hand-computed values") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const double tol = dt == DType::Float64 ? 1e-15 : 1e-6;  // a few roundings; float32: ulp at 2 is 2.4e-7
    auto grad = [&](std::vector<double> v) { return from_vector(v, {2}, {dt}); };
    {  // p ← p − lr g
      Tensor p = param({1.0, 2.0}, {2}, dt);
      SGD opt({ParamGroup{{p}, {}, {}, 1.0}}, {.lr = 0.1});
      p.set_grad(grad({0.5, -1.0}));
      opt.step();
      check_values(p, {0.95, 2.1}, tol);
      CHECK(opt.state_tensors().empty());  // no momentum: no state
    }
    {  // g ← g + wd p = (0.6, -0.8);  p = (1 - 0.06, 2 + 0.08)
      Tensor p = param({1.0, 2.0}, {2}, dt);
      SGD opt({ParamGroup{{p}, {}, {}, 1.0}}, {.lr = 0.1, .weight_decay = 0.1});
      p.set_grad(grad({0.5, -1.0}));
      opt.step();
      check_values(p, {0.94, 2.08}, tol);
    }
    {  // momentum 0.9: b1 = g1 = (1, -2), p1 = (0.9, 2.2);
       // b2 = 0.9 b1 + g2 = (0.9 + 0.5, -1.8 + 1) = (1.4, -0.8), p2 = (0.9 - 0.14, 2.2 + 0.08) = (0.76, 2.28)
      Tensor p = param({1.0, 2.0}, {2}, dt);
      SGD opt({ParamGroup{{p}, {"p"}, {}, 1.0}}, {.lr = 0.1, .momentum = 0.9});
      p.set_grad(grad({1.0, -2.0}));
      opt.step();
      check_values(p, {0.9, 2.2}, tol);
      p.set_grad(grad({0.5, 1.0}));
      opt.step();
      check_values(p, {0.76, 2.28}, tol);
      const auto st = opt.state_tensors();
      REQUIRE(st.size() == 1);
      CHECK(st[0].first == "p.momentum_buffer");
      check_values(st[0].second, {1.4, -0.8}, tol);
    }
    {  // nesterov: d = g + μ b.  step 1: b = (1, -2), d = (1.9, -3.8), p = (0.81, 2.38)
       // step 2: b = (1.4, -0.8), d = (0.5 + 1.26, 1 - 0.72) = (1.76, 0.28), p = (0.634, 2.352)
      Tensor p = param({1.0, 2.0}, {2}, dt);
      SGD opt({ParamGroup{{p}, {}, {}, 1.0}}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
      p.set_grad(grad({1.0, -2.0}));
      opt.step();
      check_values(p, {0.81, 2.38}, tol);
      p.set_grad(grad({0.5, 1.0}));
      opt.step();
      check_values(p, {0.634, 2.352}, tol);
    }
    {  // momentum + weight decay 0.5 + lr_scale 2: d1 = (1 + 0.5, -2 + 1) = (1.5, -1), p1 = (0.7, 2.2);
       // d2 = (0.5 + 0.35, 1 + 1.1) = (0.85, 2.1), b2 = (1.35 + 0.85, -0.9 + 2.1) = (2.2, 1.2), p2 = (0.26, 1.96)
      Tensor p = param({1.0, 2.0}, {2}, dt);
      SGD opt({ParamGroup{{p}, {}, 0.5, 2.0}}, {.lr = 0.1, .momentum = 0.9});
      p.set_grad(grad({1.0, -2.0}));
      opt.step();
      check_values(p, {0.7, 2.2}, tol);
      p.set_grad(grad({0.5, 1.0}));
      opt.step();
      check_values(p, {0.26, 1.96}, tol);
    }
  }
}

TEST_CASE("SGD: the no-decay group of decay_groups is not decayed by the default weight decay") {
  Tensor w = param({1.0, 2.0, 3.0, 4.0}, {2, 2}, DType::Float64), b = param({1.0, 2.0}, {2}, DType::Float64);
  SGD opt(decay_groups({{"w", w}, {"b", b}}, 0.5), {.lr = 0.1, .weight_decay = 0.25});
  w.set_grad(zeros({2, 2}, {DType::Float64}));
  b.set_grad(zeros({2}, {DType::Float64}));
  opt.step();
  check_values(w, {0.95, 1.9, 2.85, 3.8}, 1e-15);  // the group's 0.5
  check_values(b, {1.0, 2.0}, 0.0);
}

TEST_CASE("SGD: invalid hyperparameters throw") {
  Tensor p = param({1.0}, {1}, DType::Float64);
  CHECK_THROWS_WITH_PART(SGD({ParamGroup{{p}, {}, {}, 1.0}}, {.lr = 0.1, .nesterov = true}), "SGD: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(SGD({ParamGroup{{p}, {}, {}, 1.0}}, {.lr = -0.1}), "SGD: invalid hyperparameters");
  CHECK_THROWS_WITH_PART(SGD({ParamGroup{{p}, {}, {}, -1.0}}), "SGD: group 0 has invalid");
}

// ---- clipping --------------------------------------------------------------------------------

TEST_CASE("clip_grad_norm: returns the pre-clip norm and scales only above max_norm") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    Tensor a = param({0, 0, 0, 0}, {2, 2}, dt), b = param({0, 0, 0}, {3}, dt), c = param({5.0}, {1}, dt);
    const std::vector<double> ga = {1.0, -2.0, 3.0, 0.5}, gb = {-4.0, 2.5, 1.5};
    double sq = 0.0;
    for (double x : ga) sq += x * x;
    for (double x : gb) sq += x * x;
    const double norm = std::sqrt(sq);  // c has no gradient: skipped
    const std::vector<Tensor> params = {a, b, c};

    a.set_grad(from_vector(ga, {2, 2}, {dt}));
    b.set_grad(from_vector(gb, {3}, {dt}));
    CHECK(grad_norm(params) == doctest::Approx(norm).epsilon(1e-15));
    // below max_norm: returned norm, gradients untouched (bitwise)
    const Tensor ga_before = a.grad().clone();
    CHECK(clip_grad_norm(params, norm + 0.5) == doctest::Approx(norm).epsilon(1e-15));
    check_values(a.grad(), ga_before.to_vector<double>(), 0.0);
    CHECK_FALSE(c.grad().defined());

    // above: every gradient times max_norm / (norm + 1e-6)
    const double max_norm = 2.0, f = max_norm / (norm + 1e-6);
    CHECK(clip_grad_norm(params, max_norm) == doctest::Approx(norm).epsilon(1e-15));
    std::vector<double> wa = ga, wb = gb;
    for (double& x : wa) x *= f;
    for (double& x : wb) x *= f;
    const double tol = dt == DType::Float64 ? 1e-15 : 1e-6;
    check_values(a.grad(), wa, tol);
    check_values(b.grad(), wb, tol);
    CHECK(grad_norm(params) == doctest::Approx(max_norm).epsilon(1e-6));
    if (dt == DType::Float64) CHECK(grad_norm(params) < max_norm);  // just under (float32 rounding may cross)
  }
  CHECK(grad_norm({param({1.0}, {1}, DType::Float64)}) == 0.0);  // no gradients at all
  CHECK_THROWS_WITH_PART(clip_grad_norm({}, 0.0), "clip_grad_norm: max_norm must be positive");
}

// ---- schedules -------------------------------------------------------------------------------

TEST_CASE("LRSchedule: constant, warmup+cosine and warmup+linear") {
  LRSchedule s;
  s.lr = 1.0;
  s.min_lr = 0.1;
  s.warmup_steps = 10;
  s.total_steps = 110;

  s.kind = LRSchedule::Kind::Constant;
  for (int64_t step : {0, 5, 9, 10, 60, 110, 1000}) CHECK(s.at(step) == 1.0);

  const double c45 = 0.5 * (1.0 + std::cos(std::numbers::pi / 4));
  for (auto kind : {LRSchedule::Kind::WarmupCosine, LRSchedule::Kind::WarmupLinear}) {
    CAPTURE(int(kind));
    s.kind = kind;
    const bool cosine = kind == LRSchedule::Kind::WarmupCosine;
    CHECK(s.at(0) == doctest::Approx(0.1).epsilon(1e-15));   // (0 + 1) / 10 of the peak
    CHECK(s.at(4) == doctest::Approx(0.5).epsilon(1e-15));   // mid-warmup
    CHECK(s.at(9) == doctest::Approx(1.0).epsilon(1e-15));   // last warmup step reaches the peak
    CHECK(s.at(10) == doctest::Approx(1.0).epsilon(1e-15));  // decay starts at progress 0
    CHECK(s.at(35) == doctest::Approx(0.1 + 0.9 * (cosine ? c45 : 0.75)).epsilon(1e-14));
    CHECK(s.at(60) == doctest::Approx(0.55).epsilon(1e-14));  // middle: both shapes at 1/2
    CHECK(s.at(85) == doctest::Approx(0.1 + 0.9 * (cosine ? 1.0 - c45 : 0.25)).epsilon(1e-14));
    CHECK(s.at(110) == doctest::Approx(0.1).epsilon(1e-15));  // end
    CHECK(s.at(111) == doctest::Approx(0.1).epsilon(1e-15));  // past the end: the floor
    CHECK(s.at(100000) == doctest::Approx(0.1).epsilon(1e-15));
    for (int64_t step = 10; step < 110; ++step) CHECK(s.at(step + 1) <= s.at(step));  // monotone decay
  }
  // No warmup: step 0 is the peak.
  s.kind = LRSchedule::Kind::WarmupCosine;
  s.warmup_steps = 0;
  CHECK(s.at(0) == 1.0);
}

TEST_CASE("LRSchedule::parse") {
  CHECK(LRSchedule::parse("constant") == LRSchedule::Kind::Constant);
  CHECK(LRSchedule::parse("cosine") == LRSchedule::Kind::WarmupCosine);
  CHECK(LRSchedule::parse("linear") == LRSchedule::Kind::WarmupLinear);
  CHECK_THROWS_WITH_PART(LRSchedule::parse("cosin"), "lr schedule: unknown 'cosin' (expected constant, cosine or linear)");
  CHECK_THROWS_WITH_PART(LRSchedule::parse(""), "unknown ''");
  CHECK_THROWS_WITH_PART(LRSchedule::parse("Cosine"), "unknown 'Cosine'");
}

// ---- gradient accumulation -------------------------------------------------------------------

TEST_CASE("gradient accumulation: two half batches with loss / 2 give the full batch's gradient") {
  // loss(W) = mean((x W - y)²) over a batch of 6 rows; halves of 3 rows each.
  const Tensor x = leaf({6, 4}, 31).detach(), y = leaf({6, 3}, 32).detach();
  Tensor w = leaf({4, 3}, 33);
  auto loss = [&](const Tensor& xb, const Tensor& yb) {
    const Tensor r = sub(matmul(xb, w), yb);
    return mean(mul(r, r));
  };
  loss(x, y).backward();
  const Tensor full = w.grad().clone();
  w.zero_grad();
  div(loss(x.slice(0, 0, 3), y.slice(0, 0, 3)), 2.0).backward();
  const Tensor half = w.grad().clone();
  div(loss(x.slice(0, 3, 6), y.slice(0, 3, 6)), 2.0).backward();  // adds into .grad
  check_close(w.grad(), full, 1e-12, 0.0);
  // the first half alone is not the full gradient (the test could not pass by accident)
  CHECK(max(abs(sub(half, full))).item() > 1e-3);
  // and one AdamW step from either gradient lands on the same parameters
  Tensor w2 = w.detach().clone().requires_grad_();
  w2.set_grad(full);
  ParamGroup g1, g2;
  g1.params = {w};
  g2.params = {w2};
  AdamW o1({g1}), o2({g2});
  o1.step();
  o2.step();
  check_close(w, w2, 1e-12, 0.0);
}
