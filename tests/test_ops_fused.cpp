// test_ops_fused.cpp: the fused transformer ops rms_norm and rope.
//
// Each fused op is checked against a REFERENCE written with ordinary core ops (the oracle), by
// float64 gradchecks (with strided and broadcast inputs), by closed-form values and by its errors.
//
// Tolerances against the references:
//  - float64: 1e-12 relative. Both sides do the same math in double; they differ only by the order
//    of a few roundings (~1e-16 each).
//  - float32: 1e-6 relative. The fused kernels accumulate in double and round a handful of times;
//    the reference rounds to float after every op (about 7 roundings of 2^-24 = 6e-8 for rms_norm:
//    x², sum, /C, +eps, sqrt, 1/., ·x, ·w). With only products, quotients and sums of positive
//    terms there is no cancellation, so the worst case ~4e-7 is relative per element. A real bug,
//    even forgetting eps (eps / (2 mean(x²)) ≈ 1.5e-5 relative here), is well above 1e-6.
//    RoPE output components can cancel (x0 cos − x1 sin), so for RoPE the bound is relative to the
//    norm of the rotated pair: each component is within ~3·6e-8·|pair| of the exact value.
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

Tensor random_tensor(const Shape& s, uint64_t seed, DType dt) {
  Generator g(seed);
  return uniform(s, -1.0, 1.0, g, {dt});
}

// ---- references built from ordinary ops -----------------------------------------------------

Tensor rms_norm_reference(const Tensor& x, const Tensor& w, double eps) {
  const Tensor ms = mean(mul(x, x), {-1}, /*keepdim=*/true);
  return mul(mul(x, rsqrt(add(ms, eps))), w);
}

// cos or sin of angle(t, m) = (pos_offset + t) theta^(-2m/D) as a (T, 1, D/2) tensor, which
// broadcasts against the (B, T, H, D/2) lanes. `sign` -1 gives the inverse rotation's sine.
Tensor rope_table(int64_t T, int64_t D, int64_t pos_offset, double theta, bool sine, double sign, DType dt) {
  std::vector<double> v;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t m = 0; m < D / 2; ++m) {
      const double a = double(pos_offset + t) * std::pow(theta, -2.0 * double(m) / double(D));
      v.push_back(sine ? sign * std::sin(a) : std::cos(a));
    }
  return from_vector(v, {T, 1, D / 2}, {dt});
}

// (..., P), (..., P) -> (..., 2P) with out[2m] = even[m], out[2m+1] = odd[m]: a product with 0/1
// placement matrices, exact (each output sums one x·1 and zeros).
Tensor interleave(const Tensor& even, const Tensor& odd) {
  const int64_t P = even.size(-1);
  std::vector<double> pe(size_t(P * 2 * P), 0.0), po(size_t(P * 2 * P), 0.0);
  for (int64_t m = 0; m < P; ++m) {
    pe[size_t(m * 2 * P + 2 * m)] = 1.0;
    po[size_t(m * 2 * P + 2 * m + 1)] = 1.0;
  }
  const TensorOptions o{even.dtype()};
  return add(matmul(even, from_vector(pe, {P, 2 * P}, o)), matmul(odd, from_vector(po, {P, 2 * P}, o)));
}

Tensor rope_reference(const Tensor& x, int64_t pos_offset, double theta, double sign = 1.0) {
  const int64_t T = x.size(1), D = x.size(3);
  const Tensor x0 = x.slice(-1, 0, D, 2), x1 = x.slice(-1, 1, D, 2);  // even and odd lanes
  const Tensor c = rope_table(T, D, pos_offset, theta, false, sign, x.dtype());
  const Tensor s = rope_table(T, D, pos_offset, theta, true, sign, x.dtype());
  return interleave(sub(mul(x0, c), mul(x1, s)), add(mul(x0, s), mul(x1, c)));
}

// got ≈ want, each element within rtol times the norm of its (2m, 2m+1) pair in `pairs`
// (the rotated vector, whose norm both sides preserve).
void check_close_pairwise(const Tensor& got, const Tensor& want, const Tensor& pairs, double rtol) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.shape() == pairs.shape());
  const std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>(), p = pairs.to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    const size_t base = i & ~size_t(1);
    const double scale = std::hypot(p[base], p[base + 1]);
    INFO("element " << i << ": " << a[i] << " vs " << b[i] << " (pair norm " << scale << ")");
    REQUIRE(std::abs(a[i] - b[i]) <= rtol * scale);
  }
}

double tol_of(DType dt) { return dt == DType::Float32 ? 1e-6 : 1e-12; }

}  // namespace

// ---- (1) the fused ops against their references --------------------------------------------

TEST_CASE("rms_norm matches x * rsqrt(mean(x^2) + eps) * w in float32 and float64") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    for (double eps : {1e-5, 0.3}) {
      const Tensor x = random_tensor({2, 3, 37}, 1, dt), w = random_tensor({37}, 2, dt);
      const Tensor y = rms_norm(x, w, eps);
      CHECK(y.shape() == x.shape());
      check_close(y, rms_norm_reference(x, w, eps), 0.0, tol_of(dt));
    }
    // a non-contiguous x (transposed) and 1-d x
    const Tensor xt = random_tensor({9, 4}, 3, dt).t(), w4 = random_tensor({9}, 4, dt);
    check_close(rms_norm(xt, w4), rms_norm_reference(xt, w4, 1e-5), 0.0, tol_of(dt));
    const Tensor x1 = random_tensor({9}, 5, dt);
    check_close(rms_norm(x1, w4), rms_norm_reference(x1, w4, 1e-5), 0.0, tol_of(dt));
    // a strided weight (the kernel reads it with its stride)
    const Tensor ws = random_tensor({18}, 8, dt).slice(0, 1, 18, 2);
    check_close(rms_norm(x1, ws), rms_norm_reference(x1, ws, 1e-5), 0.0, tol_of(dt));
  }
}

TEST_CASE("rope matches the slice/cos/sin reference in float32 and float64") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    const Tensor x = random_tensor({2, 5, 3, 8}, 6, dt);
    check_close_pairwise(rope(x), rope_reference(x, 0, 10000.0), x, tol_of(dt));
    check_close_pairwise(rope(x, 3, 50.0), rope_reference(x, 3, 50.0), x, tol_of(dt));
    // far positions: the table is built in double, so float32 stays exact to rounding there too
    check_close_pairwise(rope(x, 100000, 10000.0), rope_reference(x, 100000, 10000.0), x, tol_of(dt));
    // a strided input (heads and time swapped) is made contiguous by the op
    const Tensor xp = random_tensor({2, 3, 4, 6}, 7, dt).permute({0, 2, 1, 3});
    check_close_pairwise(rope(xp, 2), rope_reference(xp, 2, 10000.0), xp, tol_of(dt));
  }
}

// ---- (2) float64 gradient checks ------------------------------------------------------------

TEST_CASE("rms_norm gradcheck: x and weight, strided and broadcast inputs") {
  using V = std::vector<Tensor>;
  CHECK_GRAD([](const V& in) { return rms_norm(in[0], in[1], 1e-5); }, leaf({2, 3, 5}, 10), leaf({5}, 11));
  CHECK_GRAD([](const V& in) { return rms_norm(in[0], in[1], 0.5); }, leaf({4, 6}, 12), leaf({6}, 13));
  // transposed x: rows of the view are columns of the leaf
  CHECK_GRAD([](const V& in) { return rms_norm(in[0].t(), in[1]); }, leaf({5, 4}, 14), leaf({5}, 15));
  // x broadcast inside f: the gradient sums over the repeated rows
  CHECK_GRAD([](const V& in) { return rms_norm(in[0].expand({3, 2, 5}), in[1]); }, leaf({2, 5}, 16), leaf({5}, 17));
  // an expanded (stride-0) weight and a 1-d x
  CHECK_GRAD([](const V& in) { return rms_norm(in[0], in[1].expand({7})); }, leaf({7}, 18), leaf({1}, 19));
  // every other element of a longer weight (stride 2)
  CHECK_GRAD([](const V& in) { return rms_norm(in[0], in[1].slice(0, 0, 10, 2)); }, leaf({3, 5}, 22), leaf({10}, 23));
  // more rows than one gw chunk (64 rows), so gw combines several partials
  CHECK_GRAD([](const V& in) { return rms_norm(in[0], in[1]); }, leaf({150, 3}, 20), leaf({3}, 21));
}

TEST_CASE("rope gradcheck: offsets, thetas, strided and broadcast inputs") {
  using V = std::vector<Tensor>;
  CHECK_GRAD([](const V& in) { return rope(in[0]); }, leaf({2, 3, 2, 4}, 30));
  CHECK_GRAD([](const V& in) { return rope(in[0], 7, 50.0); }, leaf({1, 4, 3, 6}, 31));
  // non-contiguous: (B, H, T, D) leaf viewed as (B, T, H, D); every other lane of a wider leaf
  CHECK_GRAD([](const V& in) { return rope(in[0].permute({0, 2, 1, 3}), 2); }, leaf({2, 2, 3, 4}, 32));
  CHECK_GRAD([](const V& in) { return rope(in[0].slice(-1, 0, 8, 2), 5, 100.0); }, leaf({1, 3, 2, 8}, 33));
  // broadcast over batch and heads
  CHECK_GRAD([](const V& in) { return rope(in[0].expand({2, 3, 2, 4}), 1); }, leaf({1, 3, 1, 4}, 34));
}

TEST_CASE("rms_norm backward matches the reference's autograd, over several gw chunks") {
  // float64 to 1e-12; 200 rows = 4 chunks of 64 in the gw reduction
  const Tensor x = leaf({200, 7}, 40), w = leaf({7}, 41), g = random_tensor({200, 7}, 42, DType::Float64);
  sum(mul(rms_norm(x, w), g)).backward();
  const Tensor gx = x.grad(), gw = w.grad();
  x.zero_grad();
  w.zero_grad();
  sum(mul(rms_norm_reference(x, w, 1e-5), g)).backward();
  check_close(gx, x.grad(), 1e-12, 1e-12);
  check_close(gw, w.grad(), 1e-12, 1e-12);

  // float32 kernel against the float64 kernel on the same (exactly representable) values:
  // the float32 path computes in double too, so only the rounding of inputs/rstd/outputs remains.
  Tensor x32 = random_tensor({130, 5}, 43, DType::Float32), w32 = random_tensor({5}, 44, DType::Float32);
  const Tensor g32 = random_tensor({130, 5}, 45, DType::Float32);
  const Tensor xa = x32.to(DType::Float64).requires_grad_(), wa = w32.to(DType::Float64).requires_grad_();
  x32.requires_grad_();
  w32.requires_grad_();
  sum(mul(rms_norm(x32, w32), g32)).backward();
  sum(mul(rms_norm(xa, wa), g32.to(DType::Float64))).backward();
  check_close(x32.grad(), xa.grad(), 1e-6, 1e-6);
  check_close(w32.grad(), wa.grad(), 1e-6, 1e-6);
}

TEST_CASE("rms_norm and rope give bitwise the same results on 1 and 3 threads") {
  const int before = num_threads();
  auto run = [](int threads) {
    set_num_threads(threads);
    const Tensor x = leaf({1000, 64}, 50), w = leaf({64}, 51);
    const Tensor g = random_tensor({1000, 64}, 52, DType::Float64);
    const Tensor y = rms_norm(x, w);
    sum(mul(y, g)).backward();
    const Tensor q = rope(random_tensor({4, 64, 4, 32}, 53, DType::Float32), 9);
    return std::vector<std::vector<double>>{y.to_vector<double>(), x.grad().to_vector<double>(),
                                            w.grad().to_vector<double>(), q.to_vector<double>()};
  };
  const auto one = run(1), three = run(3);
  set_num_threads(before);
  for (size_t k = 0; k < one.size(); ++k) {
    CAPTURE(k);
    CHECK(one[k] == three[k]);
  }
}

// ---- (3) closed-form values ---------------------------------------------------------------

TEST_CASE("rope at t = 0 is the identity") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = random_tensor({2, 4, 3, 6}, 60, dt);
    const Tensor y = rope(x);  // time index 0 is position 0: cos 1, sin 0, exactly
    CHECK(y.select(1, 0).to_vector<double>() == x.select(1, 0).to_vector<double>());
    // ... and not elsewhere
    CHECK(y.select(1, 1).to_vector<double>() != x.select(1, 1).to_vector<double>());
  }
}

TEST_CASE("rope preserves the norm of every pair") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = random_tensor({2, 5, 2, 8}, 61, dt);
    const std::vector<double> a = x.to_vector<double>(), b = rope(x, 11, 500.0).to_vector<double>();
    for (size_t i = 0; i < a.size(); i += 2) {
      const double na = std::hypot(a[i], a[i + 1]), nb = std::hypot(b[i], b[i + 1]);
      INFO("pair " << i / 2 << ": " << na << " vs " << nb);
      REQUIRE(std::abs(na - nb) <= tol_of(dt) * na);
    }
  }
}

TEST_CASE("rope rotates pair m at position t by t * theta^(-2m/D)") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    // D = 4, theta = 10000: pair 0 turns by t rad, pair 1 by t * 10000^(-1/2) = t / 100 rad.
    // At position 3: (1, 0) -> (cos 3, sin 3);  (0, 1) -> (-sin 0.03, cos 0.03).
    Tensor x = zeros({1, 4, 1, 4}, {dt});
    x.set({0, 3, 0, 0}, 1.0);
    x.set({0, 3, 0, 3}, 1.0);
    const std::vector<double> want = {-0.9899924966004454, 0.1411200080598672, -0.02999550020249566, 0.9995500337489875};
    check_values(rope(x).select(1, 3), want, tol_of(dt));
    // the same position reached through pos_offset 1 + time index 2
    check_values(rope(x.slice(1, 1, 4), 1).select(1, 2), want, tol_of(dt));
    // theta = 100 at position 5: pair 0 by 5 rad, pair 1 by 5 / 10 = 0.5 rad, both from (1, 0)
    Tensor u = zeros({1, 1, 1, 4}, {dt});
    u.set({0, 0, 0, 0}, 1.0);
    u.set({0, 0, 0, 2}, 1.0);
    check_values(rope(u, 5, 100.0), {0.28366218546322625, -0.9589242746631385, 0.8775825618903728, 0.479425538604203},
                 tol_of(dt));
  }
}

TEST_CASE("rms_norm closed forms: a constant row c gives w c / sqrt(c^2 + eps)") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    const Tensor w = from_vector(std::vector<double>{1.0, -2.0, 3.0}, {3}, {dt});
    // c = 0.5, eps = 0.75: c / sqrt(0.25 + 0.75) = 0.5
    check_values(rms_norm(full({1, 3}, 0.5, {dt}), w, 0.75), {0.5, -1.0, 1.5}, tol_of(dt));
    // c = -2, eps = 1e-5, two rows
    const double k = -2.0 / std::sqrt(4.0 + 1e-5);
    check_values(rms_norm(full({2, 3}, -2.0, {dt}), w, 1e-5), {k, -2 * k, 3 * k, k, -2 * k, 3 * k}, tol_of(dt));
    // row (3, 4), eps 0: mean x² = 12.5
    check_values(rms_norm(from_vector(std::vector<double>{3.0, 4.0}, {2}, {dt}), ones({2}, {dt}), 0.0),
                 {0.8485281374238571, 1.1313708498984762}, tol_of(dt));
  }
}

TEST_CASE("rope backward is the inverse rotation; inverse(rope(x)) = x") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    // d/dx sum(rope(x) * g) = R^T g = R^-1 g: g rotated by minus the angles
    const Tensor x = random_tensor({2, 3, 2, 6}, 70, dt).requires_grad_();
    const Tensor g = random_tensor({2, 3, 2, 6}, 71, dt);
    sum(mul(rope(x, 4, 100.0), g)).backward();
    check_close_pairwise(x.grad(), rope_reference(g, 4, 100.0, /*sign=*/-1.0), g, tol_of(dt));
    // with y = rope(x): the gradient of sum(rope(u) * y) w.r.t. u is R^-1 R x = x
    const Tensor y = rope(x.detach(), 4, 100.0);
    const Tensor u = zeros(y.shape(), {dt, Device::cpu(), true});
    sum(mul(rope(u, 4, 100.0), y)).backward();
    check_close_pairwise(u.grad(), x.detach(), x.detach(), tol_of(dt));
  }
}

TEST_CASE("rms_norm saves x for backward: changing it in place first is an error") {
  const Tensor w = leaf({4}, 80);
  Tensor x = random_tensor({3, 4}, 81, DType::Float64);
  const Tensor y = rms_norm(x, w);
  x.set({0, 0}, 5.0);
  CHECK_THROWS_WITH_PART(sum(y).backward(), "modified in place");
}

// ---- (4) errors -----------------------------------------------------------------------------

TEST_CASE("rope errors") {
  CHECK_THROWS_WITH_PART((rope(zeros({1, 2, 1, 3}))), "D must be even");
  CHECK_THROWS_WITH_PART((rope(zeros({1, 2, 1, 3}))), "(1, 2, 1, 3)");
  CHECK_THROWS_WITH_PART((rope(zeros({2, 3, 4}))), "must be 4-d (B, T, H, D), got (2, 3, 4)");
  CHECK_THROWS_WITH_PART((rope(zeros({1, 1, 2, 3, 4}))), "must be 4-d");
  CHECK_THROWS_WITH_PART((rope(zeros({1, 2, 1, 4}, {DType::Int64}))), "rope: needs a floating tensor, got int64");
  CHECK_THROWS_WITH_PART((rope(zeros({1, 2, 1, 4}), 0, 0.0)), "theta must be finite and > 0");
}

TEST_CASE("rms_norm errors") {
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}), zeros({3}))), "weight must be 1-d of size C = 4 (the last dim of x (2, 4)), got (3,)");
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}), zeros({1, 4}))), "weight must be 1-d of size C = 4");
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}, {DType::Float64}), zeros({4}))), "rms_norm: dtype mismatch: float64 (2, 4) vs float32 (4,)");
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}, {DType::Int64}), zeros({4}, {DType::Int64}))), "rms_norm: needs a floating tensor");
  CHECK_THROWS_WITH_PART((rms_norm(scalar_tensor(1.0), zeros({1}))), "x needs at least 1 dim");
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}), Tensor())), "undefined weight");
  CHECK_THROWS_WITH_PART((rms_norm(zeros({2, 4}), zeros({4}), -1.0)), "eps must be finite and >= 0");
}
