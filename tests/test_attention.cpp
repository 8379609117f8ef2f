// test_attention.cpp: fused attention and DIFF attention against naive loops, gradchecks,
// argument errors and thread-count independence.
#include <cmath>
#include <string>

#include "core/error.h"  // tests/helpers.h uses difft::Error without including it
#include "core/parallel.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

// The naive reference: explicit T×S scores, row softmax, masked entries skipped, all in double.
// q (B, T, Hq, D), k (B, S, Hkv, D), v (B, S, Hkv, Dv) read as flat row-major vectors.
// Scores of query sub-head hq against key sub-head hk for batch b: a (T, S) probability map.
struct Ref {
  std::vector<double> q, k, v;
  int64_t B, T, S, QH, KH, D, VH, Dv;
  double scale;
  bool causal;

  Ref(const Tensor& q_, const Tensor& k_, const Tensor& v_, double scale_, bool causal_)
      : q(q_.to_vector<double>()), k(k_.to_vector<double>()), v(v_.to_vector<double>()), B(q_.size(0)),
        T(q_.size(1)), S(k_.size(1)), QH(q_.size(2)), KH(k_.size(2)), D(q_.size(3)), VH(v_.size(2)),
        Dv(v_.size(3)), scale(scale_), causal(causal_) {}

  std::vector<double> probs(int64_t b, int64_t hq, int64_t hk) const {
    std::vector<double> p(size_t(T * S), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t last = causal ? t + (S - T) : S - 1;  // bottom-right aligned mask
      double mx = -INFINITY;
      for (int64_t s = 0; s <= last; ++s) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += q[size_t(((b * T + t) * QH + hq) * D + d)] * k[size_t(((b * S + s) * KH + hk) * D + d)];
        p[size_t(t * S + s)] = dot * scale;
        mx = std::max(mx, dot * scale);
      }
      double z = 0;
      for (int64_t s = 0; s <= last; ++s) z += p[size_t(t * S + s)] = std::exp(p[size_t(t * S + s)] - mx);
      for (int64_t s = 0; s <= last; ++s) p[size_t(t * S + s)] /= z;
    }
    return p;
  }

  // out[b, t, h, :] += w · Σ_s p[t, s] v[b, s, g, :]
  void add_pv(std::vector<double>& out, int64_t H, int64_t b, int64_t h, int64_t g, const std::vector<double>& p,
              double w) const {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t e = 0; e < Dv; ++e)
          out[size_t(((b * T + t) * H + h) * Dv + e)] += w * p[size_t(t * S + s)] * v[size_t(((b * S + s) * VH + g) * Dv + e)];
  }

  std::vector<double> attention() const {
    std::vector<double> out(size_t(B * T * QH * Dv), 0.0);
    const int64_t n_rep = QH / KH;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < QH; ++h) add_pv(out, QH, b, h, h / n_rep, probs(b, h, h / n_rep), 1.0);
    return out;
  }

  // head i, group g = i / n_rep: A1 from sub-heads (2i, 2g), A2 from (2i+1, 2g+1), V group g.
  std::vector<double> diff(double lambda) const {
    const int64_t H = QH / 2, n_rep = H / VH;
    std::vector<double> out(size_t(B * T * H * Dv), 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < H; ++i) {
        const int64_t g = i / n_rep;
        add_pv(out, H, b, i, g, probs(b, 2 * i, 2 * g), 1.0);
        add_pv(out, H, b, i, g, probs(b, 2 * i + 1, 2 * g + 1), -lambda);
      }
    return out;
  }
};

struct Case {
  int64_t B, T, S, Hq, Hkv;
  bool causal;
};

// The configurations of the forward checks: MHA and GQA, causal or not, S = T and S > T, T = 70
// (two query tiles, the second partial), S = 100 (two key tiles).
const Case kCases[] = {
    {2, 70, 70, 4, 4, true},  {2, 70, 70, 4, 4, false}, {2, 70, 70, 4, 2, true},  {2, 70, 70, 4, 1, true},
    {2, 70, 100, 4, 2, true}, {2, 70, 100, 4, 1, false}, {2, 70, 100, 4, 4, true}, {2, 70, 40, 4, 2, false},
};

// float64 agrees to 1e-12 (both sides are exact up to rounding of ~100-term sums). float32 is
// compared with a double reference computed from the same float32 inputs: the kernel's float
// accumulation of 8-term dot products, ≤100-term softmax sums and P·V sums gives errors of a few
// ulp of float (~1e-7 relative), so 1e-5 relative leaves a wide margin but catches any real error.
double tolerance(DType t) { return t == DType::Float64 ? 1e-12 : 1e-5; }

}  // namespace

TEST_CASE("attention matches naive loops (MHA, GQA, causal, S > T, float32 and float64)") {
  const int64_t D = 8, Dv = 16;
  uint64_t seed = 100;
  for (const Case& c : kCases)
    for (DType dt : {DType::Float64, DType::Float32}) {
      CAPTURE(c.Hkv);
      CAPTURE(c.S);
      CAPTURE(c.causal);
      CAPTURE(dtype_name(dt));
      const Tensor q = leaf({c.B, c.T, c.Hq, D}, ++seed, -2, 2).detach().to(dt);
      const Tensor k = leaf({c.B, c.S, c.Hkv, D}, ++seed, -2, 2).detach().to(dt);
      const Tensor v = leaf({c.B, c.S, c.Hkv, Dv}, ++seed).detach().to(dt);
      const double scale = 1.0 / std::sqrt(double(D));
      const Tensor out = attention(q, k, v, scale, c.causal);
      CHECK(out.shape() == Shape{c.B, c.T, c.Hq, Dv});
      CHECK(out.dtype() == dt);
      check_values(out, Ref(q, k, v, scale, c.causal).attention(), tolerance(dt));
    }
}

TEST_CASE("diff_attention matches two naive maps subtracted with lambda") {
  const int64_t d = 8;
  uint64_t seed = 200;
  for (const Case& c : kCases)
    for (DType dt : {DType::Float64, DType::Float32}) {
      CAPTURE(c.Hkv);
      CAPTURE(c.S);
      CAPTURE(c.causal);
      CAPTURE(dtype_name(dt));
      const Tensor q = leaf({c.B, c.T, 2 * c.Hq, d}, ++seed, -2, 2).detach().to(dt);
      const Tensor k = leaf({c.B, c.S, 2 * c.Hkv, d}, ++seed, -2, 2).detach().to(dt);
      const Tensor v = leaf({c.B, c.S, c.Hkv, 2 * d}, ++seed).detach().to(dt);
      const double lambda = 0.8 - 0.6 * std::exp(-0.3 * 3);  // λ_init of layer 3
      const double scale = 1.0 / std::sqrt(double(d));
      const Tensor out = diff_attention(q, k, v, scalar_tensor(lambda, {dt}), scale, c.causal);
      CHECK(out.shape() == Shape{c.B, c.T, c.Hq, 2 * d});
      // the reference uses λ as stored in dt, as the kernel does
      const double lam = scalar_tensor(lambda, {dt}).item();
      check_values(out, Ref(q, k, v, scale, c.causal).diff(lam), tolerance(dt));
    }
}

TEST_CASE("online softmax is stable for logits of +-800 that change sign between key tiles") {
  // Keys 0..63 score about +800 and keys 64..99 about -800: a kernel that rescaled by
  // exp(m_old - m_tile) instead of keeping the running maximum would overflow to inf/NaN. The
  // probabilities are then almost one-hot; float32 logits of size 800 carry rounding of ~1e-4, so
  // float32 is checked to 1e-3 and float64 (rounding ~1e-12 on the logits) to 1e-10.
  const Tensor q = leaf({1, 100, 2, 8}, 80, 0.5, 1.5).detach();
  std::vector<double> kv = leaf({1, 100, 2, 8}, 81, 0.5, 1.5).to_vector<double>();
  for (size_t i = 64 * 2 * 8; i < kv.size(); ++i) kv[i] = -kv[i];  // keys 64.. point the other way
  const Tensor k = from_vector(kv, {1, 100, 2, 8}, {DType::Float64});
  const Tensor v = leaf({1, 100, 2, 16}, 83).detach();
  for (bool causal : {true, false})
    for (DType dt : {DType::Float64, DType::Float32}) {
      CAPTURE(causal);
      CAPTURE(dtype_name(dt));
      const Tensor qt = q.to(dt), kt = k.to(dt), vt = v.to(dt);
      const double tol = dt == DType::Float64 ? 1e-10 : 1e-3;
      check_values(attention(qt, kt, vt, 100.0, causal), Ref(qt, kt, vt, 100.0, causal).attention(), tol);
      // DIFF reads q, k as (B, T, 2H, d) with d = 8 and v as (B, S, Hkv, 2d): H = Hkv = 1
      check_values(diff_attention(qt, kt, vt.slice(2, 0, 1), scalar_tensor(0.5, {dt}), 100.0, causal),
                   Ref(qt, kt, vt.slice(2, 0, 1), 100.0, causal).diff(0.5), tol);
    }
}

TEST_CASE("diff_attention equals attention(Q1, K1, V) - lambda attention(Q2, K2, V) under GQA") {
  // The flash1 composition of diff-transformer.md §3, built from the standard op on strided views.
  const Tensor q = leaf({2, 9, 8, 4}, 1).detach(), k = leaf({2, 11, 4, 4}, 2).detach(), v = leaf({2, 11, 2, 8}, 3).detach();
  const Tensor q1 = q.slice(2, 0, 8, 2), q2 = q.slice(2, 1, 8, 2), k1 = k.slice(2, 0, 4, 2), k2 = k.slice(2, 1, 4, 2);
  const Tensor want = attention(q1, k1, v, 0.5) - attention(q2, k2, v, 0.5) * 0.3;
  check_close(diff_attention(q, k, v, scalar_tensor(0.3, {DType::Float64}), 0.5), want, 1e-13, 1e-12);
}

TEST_CASE("attention gradients (float64 gradcheck): MHA, GQA, causal, S > T, non-contiguous") {
  for (bool causal : {true, false}) {
    CAPTURE(causal);
    auto f = [causal](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], 0.7, causal); };
    CHECK_GRAD(f, leaf({2, 5, 2, 4}, 1), leaf({2, 5, 2, 4}, 2), leaf({2, 5, 2, 3}, 3));  // MHA
    CHECK_GRAD(f, leaf({1, 7, 4, 4}, 4), leaf({1, 9, 2, 4}, 5), leaf({1, 9, 2, 5}, 6));  // GQA, S > T
    CHECK_GRAD(f, leaf({2, 6, 3, 4}, 7), leaf({2, 6, 1, 4}, 8), leaf({2, 6, 1, 4}, 9));  // one kv head
  }
  // q transposed from (B, H, T, D), k with its last two dims swapped, v a strided slice
  CHECK_GRAD([](const std::vector<Tensor>& in) {
    return attention(in[0].transpose(1, 2), in[1].transpose(2, 3), in[2].slice(3, 0, 6, 2), 0.5, true);
  }, leaf({2, 4, 6, 4}, 10), leaf({2, 8, 4, 2}, 11), leaf({2, 8, 2, 6}, 12));
}

TEST_CASE("attention gradients across several query and key tiles") {
  // T = 66, S = 70: two query tiles and two key tiles; the second key tile is partly masked.
  auto f = [](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], 0.9, true); };
  CHECK_GRAD(f, leaf({1, 66, 2, 2}, 20), leaf({1, 70, 1, 2}, 21), leaf({1, 70, 1, 3}, 22));
}

TEST_CASE("diff_attention gradients (float64 gradcheck) w.r.t. q, k, v and lambda") {
  for (bool causal : {true, false}) {
    CAPTURE(causal);
    auto f = [causal](const std::vector<Tensor>& in) { return diff_attention(in[0], in[1], in[2], in[3], 0.6, causal); };
    CHECK_GRAD(f, leaf({2, 5, 4, 4}, 30), leaf({2, 5, 4, 4}, 31), leaf({2, 5, 2, 8}, 32), leaf({}, 33));  // MHA, H=2
    CHECK_GRAD(f, leaf({1, 7, 8, 4}, 34), leaf({1, 9, 4, 4}, 35), leaf({1, 9, 2, 8}, 36), leaf({}, 37));  // GQA, S > T
    CHECK_GRAD(f, leaf({2, 6, 6, 4}, 38), leaf({2, 6, 2, 4}, 39), leaf({2, 6, 1, 8}, 40), leaf({1}, 41));  // Hkv=1
  }
  // lambda from parameters as in the model (λ = exp(a) − exp(b) + λ_init); non-contiguous q and v
  CHECK_GRAD([](const std::vector<Tensor>& in) {
    const Tensor lambda = exp(in[3]) - exp(in[4]) + 0.2;
    return diff_attention(in[0].transpose(1, 2), in[1], in[2].slice(3, 1, 9), lambda, 0.5, true);
  }, leaf({1, 4, 6, 4}, 42), leaf({1, 6, 4, 4}, 43), leaf({1, 6, 2, 10}, 44), leaf({}, 45), leaf({}, 46));
  // several tiles: T = 66, S = 70
  CHECK_GRAD([](const std::vector<Tensor>& in) { return diff_attention(in[0], in[1], in[2], in[3], 0.8, true); },
             leaf({1, 66, 2, 2}, 47), leaf({1, 70, 2, 2}, 48), leaf({1, 70, 1, 4}, 49), leaf({}, 50));
}

TEST_CASE("float32 gradients agree with float64 gradients") {
  // Same values in both types. float32 accumulates dK and dV over 70 rows (x2 heads) in float, so
  // 2e-5 relative to max(1, |g|) leaves ample headroom over the observed ~1e-6 while any wrong
  // term would be O(1e-2) or more.
  const Tensor q = leaf({2, 70, 4, 8}, 60).detach(), k = leaf({2, 80, 2, 8}, 61).detach();
  const Tensor v = leaf({2, 80, 2, 8}, 62).detach(), vd = leaf({2, 80, 1, 16}, 63).detach();
  const Tensor wa = leaf({2, 70, 4, 8}, 64).detach(), wb = leaf({2, 70, 2, 16}, 65).detach();
  const Tensor lam = scalar_tensor(0.4, {DType::Float64});
  std::vector<std::vector<Tensor>> grads;
  for (DType dt : {DType::Float64, DType::Float32}) {
    auto fresh = [dt](const Tensor& t) { return t.to(dt).clone().requires_grad_(); };  // a new leaf each
    std::vector<Tensor> in = {fresh(q), fresh(k), fresh(v), fresh(q), fresh(k), fresh(vd), fresh(lam)};
    const Tensor a = attention(in[0], in[1], in[2], 0.35, true);
    const Tensor b = diff_attention(in[3], in[4], in[5], in[6], 0.35, true);
    (sum(a * wa.to(dt)) + sum(b * wb.to(dt))).backward();
    std::vector<Tensor> g;
    for (Tensor& t : in) g.push_back(t.grad());
    grads.push_back(g);
  }
  for (size_t i = 0; i < grads[0].size(); ++i) {
    CAPTURE(i);
    check_values(grads[1][i], grads[0][i].to_vector<double>(), 2e-5);
  }
}

TEST_CASE("attention argument errors") {
  const TensorOptions f64{DType::Float64};
  const Tensor q = zeros({1, 4, 2, 8}, f64), k = zeros({1, 4, 2, 8}, f64), v = zeros({1, 4, 2, 16}, f64);
  CHECK_THROWS_WITH_PART(attention(zeros({4, 2, 8}, f64), k, v, 1.0), "attention: q, k, v must be 4-d");
  CHECK_THROWS_WITH_PART(attention(q, k, zeros({1, 4, 2, 16, 1}, f64), 1.0), "must be 4-d (B, T, H, D), got q (1, 4, 2, 8)");
  CHECK_THROWS_WITH_PART(attention(q, zeros({2, 4, 2, 8}, f64), zeros({2, 4, 2, 16}, f64), 1.0), "batch sizes differ");
  CHECK_THROWS_WITH_PART(attention(zeros({1, 4, 3, 8}, f64), k, v, 1.0), "query heads must be a multiple of kv heads");
  CHECK_THROWS_WITH_PART(attention(q, k, zeros({1, 4, 1, 16}, f64), 1.0), "k and v head counts differ");
  CHECK_THROWS_WITH_PART(attention(q, k, zeros({1, 5, 2, 16}, f64), 1.0), "k and v have different lengths");
  CHECK_THROWS_WITH_PART(attention(q, zeros({1, 4, 2, 4}, f64), v, 1.0), "q and k head dims differ");
  CHECK_THROWS_WITH_PART(attention(q, zeros({1, 3, 2, 8}, f64), zeros({1, 3, 2, 16}, f64), 1.0, true),
                         "causal attention needs S >= T");
  CHECK_NOTHROW(attention(q, zeros({1, 3, 2, 8}, f64), zeros({1, 3, 2, 16}, f64), 1.0, false));
  CHECK_THROWS_WITH_PART(attention(q, zeros({1, 0, 2, 8}, f64), zeros({1, 0, 2, 16}, f64), 1.0, false), "no keys");
  CHECK_THROWS_WITH_PART(attention(zeros({1, 4, 2, 0}, f64), zeros({1, 4, 2, 0}, f64), v, 1.0), "head dims must be positive");
  CHECK_THROWS_WITH_PART(attention(q, k.to(DType::Float32), v, 1.0), "attention: dtype mismatch");
  CHECK_THROWS_WITH_PART(attention(q, k, v.to(DType::Float32), 1.0), "dtype mismatch");
  CHECK_THROWS_WITH_PART(attention(zeros({1, 4, 2, 8}, {DType::Int64}), k, v, 1.0), "needs a floating tensor");
}

TEST_CASE("diff_attention argument errors") {
  const TensorOptions f64{DType::Float64};
  const Tensor q = zeros({1, 4, 4, 8}, f64), k = zeros({1, 4, 2, 8}, f64), v = zeros({1, 4, 1, 16}, f64);
  const Tensor lam = scalar_tensor(0.5, f64);
  CHECK_NOTHROW(diff_attention(q, k, v, lam, 1.0));
  CHECK_NOTHROW(diff_attention(q, k, v, zeros({1}, f64), 1.0));
  CHECK_THROWS_WITH_PART(diff_attention(zeros({4, 4, 8}, f64), k, v, lam, 1.0), "diff_attention: q, k, v must be 4-d");
  CHECK_THROWS_WITH_PART(diff_attention(q, k, zeros({1, 4, 1, 8}, f64), lam, 1.0), "v's last dim must be 2·d = 16");
  CHECK_THROWS_WITH_PART(diff_attention(zeros({1, 4, 3, 8}, f64), k, v, lam, 1.0), "even sub-head count");
  CHECK_THROWS_WITH_PART(diff_attention(q, zeros({1, 4, 3, 8}, f64), v, lam, 1.0), "even sub-head count");
  CHECK_THROWS_WITH_PART(diff_attention(q, k, zeros({1, 4, 2, 16}, f64), lam, 1.0), "v must have Hkv = k.size(2) / 2 heads");
  CHECK_THROWS_WITH_PART(diff_attention(zeros({1, 4, 6, 8}, f64), zeros({1, 4, 4, 8}, f64), zeros({1, 4, 2, 16}, f64), lam, 1.0),
                         "query heads must be a multiple of kv heads");
  CHECK_THROWS_WITH_PART(diff_attention(q, zeros({1, 3, 2, 8}, f64), zeros({1, 3, 1, 16}, f64), lam, 1.0, true),
                         "causal attention needs S >= T");
  CHECK_THROWS_WITH_PART(diff_attention(q, k, v, zeros({2}, f64), 1.0), "lambda must be a 0-d (or 1-element) tensor, got (2,");
  CHECK_THROWS_WITH_PART(diff_attention(q, k, v, zeros({1, 1}, f64), 1.0), "lambda must be a 0-d");
  CHECK_THROWS_WITH_PART(diff_attention(q, k, v, scalar_tensor(0.5, {DType::Float32}), 1.0), "diff_attention: dtype mismatch");
  CHECK_THROWS_WITH_PART(diff_attention(q.to(DType::Float32), k, v, lam, 1.0), "dtype mismatch");
}

TEST_CASE("attention results do not depend on the number of threads") {
  const int saved = num_threads();
  auto run = [](int threads) {
    set_num_threads(threads);
    std::vector<Tensor> in = {leaf({2, 130, 4, 8}, 70).detach().to(DType::Float32),
                              leaf({2, 130, 2, 8}, 71).detach().to(DType::Float32),
                              leaf({2, 130, 2, 8}, 72).detach().to(DType::Float32),
                              leaf({2, 130, 8, 8}, 73).detach().to(DType::Float32),
                              leaf({2, 130, 4, 8}, 74).detach().to(DType::Float32),
                              leaf({2, 130, 2, 16}, 75).detach().to(DType::Float32),
                              scalar_tensor(0.6, {DType::Float32})};
    for (Tensor& t : in) t.requires_grad_();
    const Tensor a = attention(in[0], in[1], in[2], 0.3, true);
    const Tensor b = diff_attention(in[3], in[4], in[5], in[6], 0.3, true);
    (sum(a * a) + sum(b * b)).backward();
    std::vector<std::vector<float>> r = {a.to_vector<float>(), b.to_vector<float>()};
    for (Tensor& t : in) r.push_back(t.grad().to_vector<float>());
    return r;
  };
  const auto one = run(1), two = run(2);
  set_num_threads(saved);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(one[i] == two[i]);  // bitwise
  }
}
