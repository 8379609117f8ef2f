// test_ops_index.cpp: embedding, where, masked_fill, cat, stack, split, chunk and dropout.
//
// Gradients: float64 gradchecks (core/gradcheck.h tolerances), including broadcast operands and
// transposed / sliced views made inside f. Forward values: hand-computed, in float32 and float64;
// these ops only move or select values (no arithmetic except dropout's 1/(1-p) scale), so results
// are exact and checked with tol 0, except the dropout scale (float32: 1e-6 relative, the rounding
// of 1/(1-p) to 24 bits).
#include <cmath>
#include <limits>

#include "core/error.h"  // tests/helpers.h uses difft::Error without including it
#include "core/parallel.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

using Ins = std::vector<Tensor>;

static Tensor ids(const std::vector<int64_t>& v, const Shape& s) { return from_vector(v, s, {DType::Int64}); }

static const DType kFloatTypes[] = {DType::Float32, DType::Float64};

// ---- embedding ---------------------------------------------------------------------------------

TEST_CASE("embedding: gradcheck with repeated indices, 2-d idx and a transposed weight") {
  const Tensor idx = ids({1, 3, 1, 0, 4, 1}, {2, 3});
  CHECK_GRAD([idx](const Ins& in) { return embedding(in[0], idx); }, leaf({5, 3}, 1));
  CHECK_GRAD([idx](const Ins& in) { return embedding(in[0].t(), idx); }, leaf({3, 5}, 2));
  // idx of one token and a 0-d idx
  CHECK_GRAD([](const Ins& in) { return embedding(in[0], ids({2}, {1})); }, leaf({4, 2}, 3));
  CHECK_GRAD([](const Ins& in) { return embedding(in[0], ids({2}, {})); }, leaf({4, 2}, 4));
}

TEST_CASE("embedding: forward picks rows; backward counts repeated tokens") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    Tensor w = arange(0, 15, 1, {dt}).view({5, 3});
    w.requires_grad_();
    const Tensor y = embedding(w, ids({4, 0, 4, 2}, {2, 2}));
    CHECK(y.shape() == Shape{2, 2, 3});
    CHECK(y.dtype() == dt);
    check_values(y, {12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8}, 0.0);
    sum(y).backward();
    check_values(w.grad(), {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2}, 0.0);
  }
}

TEST_CASE("embedding: empty idx gives an empty result and a zero gradient") {
  Tensor w = leaf({4, 3}, 5);
  const Tensor y = embedding(w, ids({}, {0}));
  CHECK(y.shape() == Shape{0, 3});
  sum(y).backward();
  check_values(w.grad(), std::vector<double>(12, 0.0), 0.0);
}

// Large enough for the parallel paths (tokens in forward, column blocks in backward); compared
// with a serial reference and across thread counts (the scatter-add must be bitwise stable).
TEST_CASE("embedding: large scatter-add matches a serial reference on 1 and N threads") {
  const int64_t V = 37, C = 200, N = 1500;
  Generator gen(11);
  const Tensor idx = randint(0, V, {N}, gen);
  const Tensor w0 = uniform({V, C}, -1, 1, gen, {DType::Float32});
  const Tensor g = uniform({N, C}, -1, 1, gen, {DType::Float32});
  const std::vector<int64_t> iv = idx.to_vector<int64_t>();
  const std::vector<float> gv = g.to_vector<float>();
  std::vector<float> want(size_t(V * C), 0.0f);  // same order as the kernel: token after token
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) want[size_t(iv[size_t(n)] * C + c)] += gv[size_t(n * C + c)];

  const int saved_threads = num_threads();
  std::vector<std::vector<float>> grads;
  for (int threads : {1, std::max(2, saved_threads)}) {
    set_num_threads(threads);
    Tensor w = w0.clone().requires_grad_();
    const Tensor y = embedding(w, idx);
    check_close(y.select(0, 7), w0.select(0, iv[7]), 0.0, 0.0);
    y.backward(g);
    grads.push_back(w.grad().to_vector<float>());
  }
  set_num_threads(saved_threads);
  CHECK(grads[0] == want);
  CHECK(grads[1] == want);
}

TEST_CASE("embedding: errors") {
  const Tensor w = leaf({5, 3}, 6);
  CHECK_THROWS_WITH_PART(embedding(w, ids({0, 5}, {2})), "index 5 out of range for a table of 5 rows");
  CHECK_THROWS_WITH_PART(embedding(w, ids({-1}, {1})), "index -1 out of range");
  CHECK_THROWS_WITH_PART(embedding(w, tensor({0.0, 1.0})), "idx must be int64, got float32");
  CHECK_THROWS_WITH_PART(embedding(leaf({5}, 7), ids({0}, {1})), "weight must be 2-d");
  CHECK_THROWS_WITH_PART(embedding(ids({0, 1}, {1, 2}), ids({0}, {1})), "needs a floating tensor");
}

// ---- where, masked_fill ------------------------------------------------------------------------

TEST_CASE("where: gradcheck with broadcasting and transposed inputs") {
  const Tensor cond = tensor({1, 0, 1}, {DType::Float64}).view({3, 1});
  CHECK_GRAD([cond](const Ins& in) { return where(cond, in[0], in[1]); }, leaf({1, 4}, 10), leaf({3, 4}, 11));
  // b broadcast too, and a 0-d a
  CHECK_GRAD([cond](const Ins& in) { return where(cond, in[0], in[1]); }, leaf({}, 12), leaf({4}, 13));
  // cond, a and b all transposed views; cond int64 with negative values counting as true
  const Tensor c2 = ids({0, -3, 1, 0, 2, 0, 0, 1, 0, 5, 0, 0}, {4, 3});
  CHECK_GRAD([c2](const Ins& in) { return where(c2.t(), in[0].t(), in[1].t()); }, leaf({4, 3}, 14), leaf({4, 3}, 15));
}

TEST_CASE("where: forward values and no gradient for cond") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {1, 4}, {dt});
    const Tensor b = from_vector(std::vector<double>{-1, -2, -3}, {3, 1}, {dt});
    const Tensor c = from_vector(std::vector<double>{0.5, 0, -2, 0}, {4}, {dt});  // nonzero = true
    const Tensor y = where(c, a, b);
    CHECK(y.shape() == Shape{3, 4});
    CHECK(y.dtype() == dt);
    check_values(y, {1, -1, 3, -1, 1, -2, 3, -2, 1, -3, 3, -3}, 0.0);
    check_values(where(ids({1, 0, 0, 1}, {4}), a, b), {1, -1, -1, 4, 1, -2, -2, 4, 1, -3, -3, 4}, 0.0);
  }
  Tensor c = tensor({0.5, 0, 1}, {DType::Float64, Device::cpu(), true});
  Tensor a = leaf({3}, 16), b = leaf({3}, 17);
  sum(where(c, a, b)).backward();
  CHECK_FALSE(c.grad().defined());
  check_values(a.grad(), {1, 0, 1}, 0.0);
  check_values(b.grad(), {0, 1, 0}, 0.0);
}

TEST_CASE("where: errors") {
  const Tensor a = leaf({3}, 18);
  CHECK_THROWS_WITH_PART(where(ids({1, 0}, {2}), a, a), "where: cannot broadcast");
  CHECK_THROWS_WITH_PART(where(ids({1, 0, 1}, {3}), a, a.to(DType::Float32)), "where: dtype mismatch");
  CHECK_THROWS_WITH_PART(where(ids({1}, {1}), ids({1}, {1}), ids({2}, {1})), "needs a floating tensor");
}

TEST_CASE("masked_fill: gradcheck, also on a transposed x") {
  const Tensor mask = ids({0, 1, 0, 1}, {4});
  CHECK_GRAD([mask](const Ins& in) { return masked_fill(in[0], mask, 5.0); }, leaf({3, 4}, 20));
  const Tensor m2 = ids({1, 0, 0}, {3, 1});
  CHECK_GRAD([m2](const Ins& in) { return masked_fill(in[0].t(), m2, -7.0); }, leaf({2, 3}, 21));
}

TEST_CASE("masked_fill: forward values and errors") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {dt});
    const Tensor mask = from_vector(std::vector<double>{1, 0, 1}, {3}, {dt});
    const Tensor y = masked_fill(x, mask, -1e9);  // the causal-mask use: a large negative fill
    CHECK(y.dtype() == dt);
    check_values(y, {-1e9, 2, -1e9, -1e9, 5, -1e9}, 0.0);
  }
  CHECK_THROWS_WITH_PART(masked_fill(leaf({3}, 22), ids({1, 0, 1, 0, 1, 0}, {2, 3}), 0.0), "does not broadcast to x");
  CHECK_THROWS_WITH_PART(masked_fill(leaf({3}, 23), ids({1, 0}, {2}), 0.0), "masked_fill: cannot broadcast");
}

// ---- cat, stack --------------------------------------------------------------------------------

TEST_CASE("cat: gradcheck along dims 0, 1 and -1 with transposed, sliced and empty inputs") {
  CHECK_GRAD([](const Ins& in) { return cat({in[0], in[1].t(), in[2].slice(1, 1, 4)}, 0); },
             leaf({2, 3}, 30), leaf({3, 2}, 31), leaf({2, 5}, 32));
  CHECK_GRAD([](const Ins& in) { return cat({in[0], in[1].t(), zeros({2, 0}, {DType::Float64}), in[2].slice(0, 0, 3, 2)}, 1); },
             leaf({2, 3}, 33), leaf({4, 2}, 34), leaf({3, 5}, 35));
  CHECK_GRAD([](const Ins& in) { return cat({in[0], in[1].transpose(1, 2)}, -1); }, leaf({2, 2, 3}, 36), leaf({2, 4, 2}, 37));
  CHECK_GRAD([](const Ins& in) { return cat({in[0]}, 0); }, leaf({3}, 38));
}

TEST_CASE("cat: forward shapes and values") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, {dt});
    const Tensor b = from_vector(std::vector<double>{5, 6}, {1, 2}, {dt});
    const Tensor y0 = cat({a, b, empty({0, 2}, {dt})}, 0);
    CHECK(y0.shape() == Shape{3, 2});
    CHECK(y0.dtype() == dt);
    check_values(y0, {1, 2, 3, 4, 5, 6}, 0.0);
    const Tensor y1 = cat({a, b.t(), a.t()}, -1);  // (2, 2) | (2, 1) | (2, 2)
    CHECK(y1.shape() == Shape{2, 5});
    check_values(y1, {1, 2, 5, 1, 3, 3, 4, 6, 2, 4}, 0.0);
  }
  // one tensor: a copy, not the same storage
  const Tensor x = tensor({1, 2, 3});
  const Tensor y = cat({x}, 0);
  CHECK(y.storage() != x.storage());
  check_values(y, {1, 2, 3}, 0.0);
  // integers concatenate too (no gradient)
  check_values(cat({ids({1, 2}, {2}), ids({3}, {1})}, 0), {1, 2, 3}, 0.0);
}

TEST_CASE("cat: errors") {
  const Tensor a = leaf({2, 3}, 40);
  CHECK_THROWS_WITH_PART(cat({}, 0), "cat: expected a non-empty list");
  CHECK_THROWS_WITH_PART(cat({a, leaf({2, 4}, 41)}, 0), "cat: tensor 1 has shape (2, 4) but tensor 0 has shape (2, 3)");
  CHECK_THROWS_WITH_PART(cat({a, a, leaf({3}, 42)}, 0), "cat: tensor 2 has shape (3,)");
  CHECK_THROWS_WITH_PART(cat({a, a.to(DType::Float32)}, 0), "cat: tensor 1 has dtype float32 but tensor 0 has float64");
  CHECK_THROWS_WITH_PART(cat({a, a}, 2), "cat: dim 2 out of range");
  CHECK_THROWS_WITH_PART(cat({a, a}, -3), "cat: dim -3 out of range");
  CHECK_THROWS_WITH_PART(cat({scalar_tensor(1), scalar_tensor(2)}, 0), "cannot concatenate 0-d");
  CHECK_THROWS_WITH_PART(cat({a, Tensor()}, 0), "tensor 1 is undefined");
}

TEST_CASE("stack: gradcheck and forward") {
  CHECK_GRAD([](const Ins& in) { return stack({in[0], in[1].t(), in[2].slice(0, 1, 3)}, 1); },
             leaf({2, 3}, 50), leaf({3, 2}, 51), leaf({3, 3}, 52));
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {dt});
    const Tensor b = mul(a, 10.0);
    const Tensor s0 = stack({a, b}, 0), s1 = stack({a, b}, 1), s2 = stack({a, b}, -1);
    CHECK(s0.shape() == Shape{2, 2, 3});
    CHECK(s1.shape() == Shape{2, 2, 3});
    CHECK(s2.shape() == Shape{2, 3, 2});
    CHECK(s0.dtype() == dt);
    check_values(s0, {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}, 0.0);
    check_values(s1, {1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60}, 0.0);
    check_values(s2, {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}, 0.0);
  }
  const Tensor s = stack({scalar_tensor(1), scalar_tensor(2)}, 0);  // 0-d inputs stack to (2,)
  CHECK(s.shape() == Shape{2});
  check_values(s, {1, 2}, 0.0);
}

TEST_CASE("stack: errors") {
  const Tensor a = leaf({2, 3}, 53);
  CHECK_THROWS_WITH_PART(stack({}, 0), "stack: expected a non-empty list");
  CHECK_THROWS_WITH_PART(stack({a, leaf({3, 2}, 54)}, 0), "stack: tensor 1 has shape (3, 2) but tensor 0 has shape (2, 3)");
  CHECK_THROWS_WITH_PART(stack({a, a}, 3), "stack: dim 3 out of range");
  CHECK_THROWS_WITH_PART(stack({a, a}, -4), "stack: dim -4 out of range");
}

// ---- split, chunk ------------------------------------------------------------------------------

static std::vector<int64_t> sizes_along(const std::vector<Tensor>& pieces, int64_t dim) {
  std::vector<int64_t> s;
  for (const Tensor& p : pieces) s.push_back(p.size(dim));
  return s;
}

// A weighted sum of the pieces, weight i+1 for piece i, so a piece mapped to the wrong place of
// x (or dropped) shows up in the gradient.
static Tensor weighted(const std::vector<Tensor>& pieces) {
  Tensor total = scalar_tensor(0, {DType::Float64});
  for (size_t i = 0; i < pieces.size(); ++i) total = add(total, sum(mul(exp(pieces[i]), double(i + 1))));
  return total;
}

TEST_CASE("split / chunk: gradcheck of the pieces combined by a weighted sum") {
  CHECK_GRAD([](const Ins& in) { return weighted(split(in[0], 3, 0)); }, leaf({10, 2}, 60));
  CHECK_GRAD([](const Ins& in) { return weighted(split(in[0].t(), 3, -1)); }, leaf({10, 2}, 61));
  CHECK_GRAD([](const Ins& in) { return weighted(chunk(in[0], 4, 1)); }, leaf({2, 10}, 62));
  CHECK_GRAD([](const Ins& in) { return weighted(chunk(in[0].t(), 3, 0)); }, leaf({2, 7}, 63));
}

TEST_CASE("split / chunk: sizes, values and views") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const Tensor x = arange(0, 10, 1, {dt});
    const std::vector<Tensor> p = split(x, 3, 0);
    CHECK(sizes_along(p, 0) == std::vector<int64_t>{3, 3, 3, 1});
    check_values(p[1], {3, 4, 5}, 0.0);
    check_values(p[3], {9}, 0.0);
    CHECK(p[2].storage() == x.storage());  // views, not copies
    CHECK(sizes_along(chunk(x, 4, 0), 0) == std::vector<int64_t>{3, 3, 3, 1});
    check_values(chunk(x, 4, 0)[3], {9}, 0.0);
  }
  const Tensor x = zeros({2, 9});
  CHECK(sizes_along(split(x, 3, 1), 1) == std::vector<int64_t>{3, 3, 3});
  CHECK(sizes_along(split(x, 20, 1), 1) == std::vector<int64_t>{9});
  CHECK(sizes_along(chunk(zeros({6}), 4, 0), 0) == std::vector<int64_t>{2, 2, 2});  // as torch: 3 pieces
  CHECK(sizes_along(chunk(zeros({3}), 5, 0), 0) == std::vector<int64_t>{1, 1, 1});
  CHECK(sizes_along(chunk(x, 2, 0), 0) == std::vector<int64_t>{1, 1});
  CHECK(sizes_along(split(zeros({0, 2}), 3, 0), 0) == std::vector<int64_t>{0});
  CHECK(sizes_along(chunk(zeros({0, 2}), 3, 0), 0) == std::vector<int64_t>{0, 0, 0});
}

TEST_CASE("split / chunk: errors") {
  const Tensor x = zeros({4, 6});
  CHECK_THROWS_WITH_PART(split(x, 0, 0), "split: split_size must be positive, got 0");
  CHECK_THROWS_WITH_PART(split(x, 2, 2), "split: dim 2 out of range");
  CHECK_THROWS_WITH_PART(chunk(x, 0, 1), "chunk: chunks must be positive, got 0");
  CHECK_THROWS_WITH_PART(chunk(x, 2, -3), "chunk: dim -3 out of range");
  CHECK_THROWS_WITH_PART(split(scalar_tensor(1), 1, 0), "split: cannot split a 0-d tensor");
}

// ---- dropout -----------------------------------------------------------------------------------

TEST_CASE("dropout: gradcheck with a fixed generator, and the gradient is the mask") {
  CHECK_GRAD([](const Ins& in) { Generator g(7); return dropout(in[0], 0.3, g); }, leaf({4, 5}, 70));
  CHECK_GRAD([](const Ins& in) { Generator g(8); return dropout(in[0].t(), 0.5, g); }, leaf({4, 5}, 71));
  Tensor x = leaf({50}, 72);
  Generator g1(9), g2(9);
  dropout(x, 0.4, g1).backward(ones({50}, {DType::Float64}));
  const Tensor mask = dropout(ones({50}, {DType::Float64}), 0.4, g2);
  check_close(x.grad(), mask, 0.0, 0.0);
  int kept = 0;
  for (double m : mask.to_vector<double>()) kept += m != 0.0;
  CHECK(kept > 0);  // the mask is neither all ones nor all zeros at n = 50, p = 0.4
  CHECK(kept < 50);
}

TEST_CASE("dropout: keep fraction, scale, reproducibility") {
  for (DType dt : kFloatTypes) {
    CAPTURE(dtype_name(dt));
    const int64_t n = 100000;
    const double p = 0.3;
    Generator gen(1);
    const Tensor y = dropout(ones({n}, {dt}), p, gen);
    CHECK(y.dtype() == dt);
    int64_t kept = 0;
    bool scaled = true;
    for (double v : y.to_vector<double>()) {
      if (v == 0.0) continue;
      ++kept;
      scaled = scaled && std::abs(v - 1.0 / (1.0 - p)) <= 1e-6 / (1.0 - p);
    }
    CHECK(scaled);
    // kept ~ Binomial(n, 0.7): std sqrt(n p (1-p)) / n = 0.00145, so 1% is ~7 standard deviations
    CHECK(std::abs(double(kept) / double(n) - (1.0 - p)) < 0.01);

    Generator a(5), b(5), c(6);
    const Tensor x = arange(1, 201, 1, {dt});
    const Tensor ya = dropout(x, 0.5, a), yb = dropout(x, 0.5, b), yc = dropout(x, 0.5, c);
    check_close(ya, yb, 0.0, 0.0);                                      // same seed, same mask
    CHECK(ya.to_vector<double>() != yc.to_vector<double>());            // another seed, another mask
    CHECK(dropout(x, 0.5, a).to_vector<double>() != ya.to_vector<double>());  // gen advanced

    const Tensor ev = dropout(x, 0.5, gen, /*training=*/false);
    check_close(ev, x, 0.0, 0.0);
    check_close(dropout(x, 0.0, gen), x, 0.0, 0.0);
    check_values(dropout(x, 1.0, gen), std::vector<double>(200, 0.0), 0.0);
  }
}

TEST_CASE("dropout: the mask does not depend on the number of threads") {
  const int saved_threads = num_threads();
  std::vector<std::vector<float>> ys;
  for (int threads : {1, std::max(2, saved_threads)}) {
    set_num_threads(threads);
    Generator gen(3);
    ys.push_back(dropout(ones({70000}), 0.25, gen).to_vector<float>());
  }
  set_num_threads(saved_threads);
  CHECK(ys[0] == ys[1]);
}

TEST_CASE("dropout: errors") {
  Generator gen(0);
  const Tensor x = ones({3});
  CHECK_THROWS_WITH_PART(dropout(x, -0.1, gen), "dropout: probability p must be in [0, 1], got -0.1");
  CHECK_THROWS_WITH_PART(dropout(x, 1.5, gen), "got 1.5");
  CHECK_THROWS_WITH_PART(dropout(x, std::numeric_limits<double>::quiet_NaN(), gen), "dropout: probability p");
  CHECK_THROWS_WITH_PART(dropout(ids({1, 2}, {2}), 0.5, gen), "dropout: needs a floating tensor");
}
