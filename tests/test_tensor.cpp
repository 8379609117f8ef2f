// test_tensor.cpp: the Tensor handle: factories, random tensors, element access, printing, views
// (storage sharing, strides, contiguity), conversions and the in-place ops.
#include <cmath>
#include <numeric>

#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

// Two tensors view the same memory when they hold the same Storage object.
bool same_storage(const Tensor& a, const Tensor& b) { return a.storage().get() == b.storage().get(); }

// x (2, 3, 4) float64 with x[i, j, k] = 100 i + 10 j + k: the value names its index.
Tensor indexed_234() {
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(100 * i + 10 * j + k);
  return from_vector(v, {2, 3, 4}, {DType::Float64});
}

}  // namespace

// ---- factories -------------------------------------------------------------------------------

TEST_CASE("zeros, ones, full, empty: shape, dtype, values") {
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
    CAPTURE(std::string(dtype_name(dt)));
    Tensor z = zeros({2, 3}, {dt});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.dtype() == dt);
    CHECK(z.is_contiguous());
    CHECK(z.strides() == Shape{3, 1});
    check_values(z, std::vector<double>(6, 0.0), 0);
    check_values(ones({4}, {dt}), std::vector<double>(4, 1.0), 0);
    check_values(full({2, 2}, 7, {dt}), std::vector<double>(4, 7.0), 0);
    Tensor e = empty({3, 0, 2}, {dt});
    CHECK(e.shape() == Shape{3, 0, 2});
    CHECK(e.numel() == 0);
    CHECK(e.to_vector<double>().empty());
  }
  Tensor s = full({}, -2.5);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == -2.5);
  CHECK(scalar_tensor(3.0, {DType::Float64}).item() == 3.0);
  CHECK(zeros({2}, {DType::Float64, Device::cpu(), true}).requires_grad());
  CHECK_THROWS_WITH_PART(empty({2, -1}), "negative dimension");
}

TEST_CASE("arange: integer, negative and fractional steps") {
  check_values(arange(0, 5), {0, 1, 2, 3, 4}, 0);
  check_values(arange(2, 11, 3), {2, 5, 8}, 0);
  check_values(arange(5, 0, -1), {5, 4, 3, 2, 1}, 0);
  check_values(arange(1, -1, -0.5, {DType::Float64}), {1, 0.5, 0, -0.5}, 0);
  // (0.3 - 0) / 0.1 = 2.9999999999999996 in double: still 3 elements, the last 0.2
  Tensor f = arange(0, 0.3, 0.1, {DType::Float64});
  CHECK(f.shape() == Shape{3});
  check_values(f, {0.0, 0.1, 0.2}, 1e-15);
  CHECK(arange(0, 1, 0.1, {DType::Float64}).numel() == 10);
  CHECK(arange(3, 3).numel() == 0);
  CHECK(arange(3, 0).numel() == 0);  // wrong direction: empty, like torch
  Tensor i = arange(0, 4, 1, {DType::Int64});
  CHECK(i.dtype() == DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3});
  CHECK_THROWS_WITH_PART(arange(0, 1, 0), "arange");
}

TEST_CASE("from_vector and tensor{}: dtypes and shapes") {
  Tensor d = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {DType::Float64});
  CHECK(d.shape() == Shape{2, 3});
  CHECK(d.at({1, 0}) == 4);
  CHECK(d.at({0, 2}) == 3);
  Tensor f = from_vector(std::vector<float>{0.5f, 1.5f, 2.5f});
  CHECK(f.shape() == Shape{3});
  CHECK(f.dtype() == DType::Float32);
  CHECK(f.to_vector<float>() == std::vector<float>{0.5f, 1.5f, 2.5f});
  Tensor i = from_vector(std::vector<int64_t>{7, -8, 9, 10}, {2, 1, 2}, {DType::Int64});
  CHECK(i.shape() == Shape{2, 1, 2});
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{7, -8, 9, 10});
  // int64 values above 2^53 survive (no trip through double)
  const int64_t big = (int64_t(1) << 53) + 1;
  CHECK(from_vector(std::vector<int64_t>{big}, {1}, {DType::Int64}).to_vector<int64_t>()[0] == big);
  Tensor t = tensor({1.0, 2.0, 3.0}, {DType::Float64});
  CHECK(t.shape() == Shape{3});
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3});
  CHECK(tensor({4.0}).shape() == Shape{1});
  CHECK(from_vector(std::vector<double>{4.0}, {1}).shape() == Shape{1});
  CHECK_THROWS_WITH_PART(from_vector(std::vector<double>{1, 2, 3}, {2, 2}), "(2, 2)");
}

// ---- random tensors --------------------------------------------------------------------------

TEST_CASE("random tensors are reproducible from the seed and differ between seeds") {
  auto draw = [](uint64_t seed) {
    Generator g(seed);
    std::vector<std::vector<double>> out;
    out.push_back(rand({1000}, g, {DType::Float64}).to_vector<double>());
    out.push_back(randn({1000}, g, {DType::Float64}).to_vector<double>());
    out.push_back(uniform({1000}, -3, 5, g, {DType::Float32}).to_vector<double>());
    out.push_back(normal({1000}, 2, 0.5, g, {DType::Float64}).to_vector<double>());
    out.push_back(randint(-4, 9, {1000}, g).to_vector<double>());
    return out;
  };
  const auto a = draw(42), b = draw(42), c = draw(43);
  for (size_t k = 0; k < a.size(); ++k) {
    CAPTURE(k);
    CHECK(a[k] == b[k]);
    CHECK(a[k] != c[k]);
  }
  // successive draws from one generator differ (the offset advances)
  Generator g(1);
  const auto r1 = rand({100}, g).to_vector<double>(), r2 = rand({100}, g).to_vector<double>();
  CHECK(r1 != r2);
  CHECK(g.offset() == 200);
}

TEST_CASE("random tensors do not depend on the number of threads") {
  // 200k elements: more than one parallel grain, so two threads really split the work.
  auto draw = [](int threads) {
    ThreadsScope t(threads);
    Generator g(7);
    std::vector<std::vector<double>> out;
    out.push_back(rand({200000}, g, {DType::Float64}).to_vector<double>());
    out.push_back(randn({200000}, g, {DType::Float32}).to_vector<double>());
    out.push_back(uniform({200000}, -1, 2, g, {DType::Float64}).to_vector<double>());
    out.push_back(normal({200000}, 1, 3, g, {DType::Float64}).to_vector<double>());
    out.push_back(randint(0, 1000, {200000}, g).to_vector<double>());
    return out;
  };
  const int before = num_threads();
  CHECK(draw(1) == draw(2));
  CHECK(num_threads() == before);
}

TEST_CASE("randn: sample mean and variance of 100k draws") {
  // For n = 1e5 standard normals the sample mean has sd 1/sqrt(n) = 0.0032 and the sample
  // variance sd sqrt(2/n) = 0.0045; 5 sd bounds fail with probability < 1e-6 for a fixed seed.
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator g(2024);
    const std::vector<double> v = randn({100000}, g, {dt}).to_vector<double>();
    const double n = double(v.size());
    const double m = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double var = 0;
    for (double x : v) var += (x - m) * (x - m);
    var /= n - 1;
    CHECK(std::abs(m) < 5 * 0.0032);
    CHECK(std::abs(var - 1) < 5 * 0.0045);
  }
  Generator g(5);  // normal(mean, std) shifts and scales
  const std::vector<double> v = normal({100000}, 3, 2, g, {DType::Float64}).to_vector<double>();
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  CHECK(std::abs(m - 3) < 5 * 2 * 0.0032);
}

TEST_CASE("rand/uniform stay in range; randint covers [lo, hi)") {
  Generator g(11);
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (double x : rand({10000}, g, {dt}).to_vector<double>()) REQUIRE((x >= 0 && x < 1));
    for (double x : uniform({10000}, -2, 3, g, {dt}).to_vector<double>()) REQUIRE((x >= -2 && x < 3));
  }
  Tensor r = randint(-3, 4, {20000}, g);
  CHECK(r.dtype() == DType::Int64);
  std::vector<int> counts(7, 0);
  for (int64_t x : r.to_vector<int64_t>()) {
    REQUIRE((x >= -3 && x < 4));
    ++counts[size_t(x + 3)];
  }
  for (int c : counts) CHECK(c > 2500);  // each value expected 2857 times, sd 50
  CHECK_THROWS_WITH_PART(randint(3, 3, {2}, g), "randint");
  CHECK_THROWS_WITH_PART(uniform({2}, 1, 0, g), "uniform");
  CHECK_THROWS_WITH_PART(normal({2}, 0, -1, g), "normal");
}

TEST_CASE("rand in float32 never returns 1.0") {
  // Counter 38471471 of seed 0 draws u = 0.99999999551..., which rounds to 1.0f: the float32
  // result must still be < 1 (and uniform(lo, hi) < hi).
  const uint64_t counter = 38471471;
  CHECK(float(Generator::uniform(0, counter)) == 1.0f);  // the premise of this test
  Generator g(0);
  g.set_state(0, counter);
  CHECK(rand({1}, g, {DType::Float32}).item() < 1.0);
  g.set_state(0, counter);
  CHECK(uniform({1}, 2.0, 3.0, g, {DType::Float32}).item() < 3.0);
  g.set_state(0, counter);
  Tensor x = zeros({1});
  x.uniform_(-1.0, 1.0, g);
  CHECK(x.item() < 1.0);
}

// ---- element access and printing -------------------------------------------------------------

TEST_CASE("at, item, set, to_vector") {
  Tensor x = zeros({2, 3}, {DType::Float64});
  x.set({1, 2}, 5.5);
  x.set({0, 1}, -1);
  CHECK(x.at({1, 2}) == 5.5);
  CHECK(x.to_vector<double>() == std::vector<double>{0, -1, 0, 0, 0, 5.5});
  CHECK(x.to_vector<float>() == std::vector<float>{0, -1, 0, 0, 0, 5.5f});
  CHECK(x.to_vector<int64_t>() == std::vector<int64_t>{0, -1, 0, 0, 0, 5});
  CHECK(x.select(0, 1).select(0, 2).item() == 5.5);
  CHECK(full({1, 1}, 3).item() == 3);
  // to_vector of a view is in the view's row-major order
  CHECK(x.t().to_vector<double>() == std::vector<double>{0, 0, -1, 0, 0, 5.5});
  Tensor i = zeros({2}, {DType::Int64});
  i.set({1}, 41);
  CHECK(i.at({1}) == 41);
  CHECK_THROWS_WITH_PART(x.at({2, 0}), "out of range");
  CHECK_THROWS_WITH_PART(x.at({0}), "(2, 3)");
  CHECK_THROWS_WITH_PART(x.set({0, 3}, 1), "out of range");
  CHECK_THROWS_WITH_PART(x.item(), "(2, 3)");
  CHECK_THROWS_WITH_PART(x.data<float>(), "float64");
}

TEST_CASE("size() and dim metadata; size of a 0-d tensor throws") {
  Tensor x = zeros({2, 3, 4});
  CHECK(x.size(0) == 2);
  CHECK(x.size(-1) == 4);
  CHECK(x.size(-3) == 2);
  CHECK_THROWS_WITH_PART(x.size(3), "out of range");
  CHECK_THROWS_WITH_PART(x.size(-4), "out of range");
  CHECK_THROWS_WITH_PART(scalar_tensor(1).size(0), "size");
  CHECK_THROWS_WITH_PART(scalar_tensor(1).size(-1), "size");
}

TEST_CASE("str() prints values, shape and dtype") {
  const std::string s = from_vector(std::vector<double>{1.5, -2, 3.25, 4}, {2, 2}, {DType::Float64}).str();
  INFO(s);
  CHECK(s.find("1.5000") != std::string::npos);
  CHECK(s.find("-2.0000") != std::string::npos);
  CHECK(s.find("3.2500") != std::string::npos);
  CHECK(s.find("shape=(2, 2)") != std::string::npos);
  CHECK(s.find("float64") != std::string::npos);
  const std::string si = from_vector(std::vector<int64_t>{3, 14}, {2}, {DType::Int64}).str();
  CHECK(si.find("[3, 14]") != std::string::npos);
  CHECK(si.find("int64") != std::string::npos);
  CHECK(scalar_tensor(2).str().find("shape=()") != std::string::npos);
  CHECK(zeros({2}, {DType::Float32, Device::cpu(), true}).str().find("requires_grad") != std::string::npos);
  Tensor big = arange(0, 5000);
  const std::string sb = big.str();
  CHECK(sb.find("...") != std::string::npos);
  CHECK(sb.find("4999.0000") != std::string::npos);
  CHECK(sb.size() < 200);
  std::ostringstream os;
  os << arange(0, 3);
  CHECK(os.str() == arange(0, 3).str());
  CHECK(Tensor().str().find("undefined") != std::string::npos);
}

// ---- views -----------------------------------------------------------------------------------

TEST_CASE("view: shares storage, infers -1, refuses incompatible layouts") {
  Tensor x = indexed_234();
  Tensor v = x.view({6, 4});
  CHECK(same_storage(x, v));
  CHECK(v.is_contiguous());
  CHECK(v.at({4, 3}) == 113);
  v.set({4, 3}, -1);
  CHECK(x.at({1, 1, 3}) == -1);  // write through the view, read through the base
  CHECK(x.view({-1}).shape() == Shape{24});
  CHECK(x.view({2, -1, 3}).shape() == Shape{2, 4, 3});
  CHECK(x.view({1, 24, 1}).strides()[1] == 1);
  CHECK(scalar_tensor(4).view({1, 1}).shape() == Shape{1, 1});
  CHECK(full({1, 1}, 4).view({}).item() == 4);
  // a transposed tensor can be viewed when the merged dims stay contiguous among themselves
  Tensor p = x.permute({2, 0, 1});  // (4, 2, 3), strides (1, 12, 4): dims 1 and 2 merge
  Tensor pv = p.view({4, 6});
  CHECK(same_storage(p, pv));
  CHECK(pv.at({3, 5}) == p.at({3, 1, 2}));
  CHECK_THROWS_WITH_PART(x.select(0, 0).t().view({-1}), "view");  // (4, 3) of (3, 4): needs a copy
  CHECK_THROWS_WITH_PART(x.transpose(0, 2).view({24}), "reshape()");
  CHECK_THROWS_WITH_PART(x.view({5, -1}), "(5, -1)");
  CHECK_THROWS_WITH_PART(x.view({-1, -1}), "only one dimension");
  CHECK_THROWS_WITH_PART(x.view({7, 3}), "invalid");
}

TEST_CASE("reshape: a view when possible, a copy of a transposed tensor") {
  Tensor x = indexed_234();
  Tensor r = x.reshape({4, 6});
  CHECK(same_storage(x, r));
  Tensor t = x.transpose(1, 2);  // (2, 4, 3)
  CHECK_FALSE(t.is_contiguous());
  Tensor p = x.permute({1, 2, 0});  // (3, 4, 2), strides (4, 1, 12): dims 0 and 1 merge
  Tensor rp = p.reshape({12, 2});
  CHECK(same_storage(p, rp));
  CHECK(rp.strides() == Shape{1, 12});
  CHECK(rp.at({7, 1}) == p.at({1, 3, 1}));
  CHECK_FALSE(same_storage(t, t.reshape({8, 3})));  // no adjacent dims of t merge: a copy
  Tensor c = t.reshape({24});  // needs a copy
  CHECK_FALSE(same_storage(t, c));
  CHECK(c.is_contiguous());
  const std::vector<double> want = t.to_vector<double>();
  CHECK(c.to_vector<double>() == want);
  c.set({0}, 999);  // the copy is independent
  CHECK(x.at({0, 0, 0}) == 0);
  CHECK(x.reshape({2, 3, 4}).impl() == x.impl());  // same shape: the tensor itself
  CHECK(x.flatten().shape() == Shape{24});
}

TEST_CASE("permute, transpose, t: strides and shared storage") {
  Tensor x = indexed_234();
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(same_storage(x, p));
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.at({3, 1, 2}) == 123);
  p.set({1, 0, 2}, -7);
  CHECK(x.at({0, 2, 1}) == -7);
  CHECK(x.permute({-1, 0, 1}).shape() == Shape{4, 2, 3});
  Tensor tr = x.transpose(0, -1);
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr.at({3, 2, 1}) == 123);
  Tensor m = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {DType::Float64});
  CHECK(m.t().shape() == Shape{3, 2});
  CHECK(m.t().to_vector<double>() == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(m.t().t().is_contiguous());
  CHECK(x.transpose(1, 1).is_contiguous());
  CHECK(scalar_tensor(2).transpose(0, -1).item() == 2);  // as torch: a 0-d tensor transposes to itself
  CHECK(scalar_tensor(2).permute({}).dim() == 0);
  CHECK_THROWS_WITH_PART(x.permute({0, 1}), "permute");
  CHECK_THROWS_WITH_PART(x.permute({0, 1, 1}), "repeated");
  CHECK_THROWS_WITH_PART(x.permute({0, 1, 3}), "out of range");
  CHECK_THROWS_WITH_PART(x.transpose(0, 3), "out of range");
}

TEST_CASE("slice: step, negative indices, clamping, shared storage") {
  Tensor x = arange(0, 10, 1, {DType::Float64});
  check_values(x.slice(0, 2, 8, 3), {2, 5}, 0);
  check_values(x.slice(0, -3, 10), {7, 8, 9}, 0);
  check_values(x.slice(0, 1, -1, 4), {1, 5}, 0);
  check_values(x.slice(0, -100, 2), {0, 1}, 0);  // clamped like python
  check_values(x.slice(0, 8, 100), {8, 9}, 0);
  CHECK(x.slice(0, 5, 3).numel() == 0);
  CHECK(x.slice(0, 10, 10).numel() == 0);
  Tensor s = x.slice(0, 1, 9, 2);  // 1 3 5 7
  CHECK(s.strides() == Shape{2});
  CHECK_FALSE(s.is_contiguous());
  CHECK(same_storage(x, s));
  s.set({2}, -5);
  CHECK(x.at({5}) == -5);
  Tensor y = indexed_234();
  Tensor ys = y.slice(-1, 1, 3);  // (2, 3, 2)
  CHECK(ys.shape() == Shape{2, 3, 2});
  CHECK(ys.at({1, 2, 1}) == 122);
  CHECK_FALSE(ys.is_contiguous());
  CHECK(y.slice(0, 1, 2).is_contiguous());  // a leading-dim slice stays contiguous
  CHECK(y.slice(0, 1, 2).offset() == 12);
  CHECK_THROWS_WITH_PART(x.slice(0, 0, 5, 0), "step");
  CHECK_THROWS_WITH_PART(x.slice(1, 0, 5), "out of range");
  CHECK_THROWS_WITH_PART(scalar_tensor(1).slice(0, 0, 1), "slice");
}

TEST_CASE("narrow and select") {
  Tensor x = indexed_234();
  Tensor n = x.narrow(1, 1, 2);
  CHECK(n.shape() == Shape{2, 2, 4});
  CHECK(n.at({1, 1, 3}) == 123);
  CHECK(same_storage(x, n));
  Tensor s = x.select(2, -1);  // (2, 3)
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.at({1, 2}) == 123);
  CHECK_FALSE(s.is_contiguous());
  s.set({0, 0}, 77);
  CHECK(x.at({0, 0, 3}) == 77);
  CHECK(x.select(0, 1).is_contiguous());
  CHECK(x.select(0, 1).select(0, 2).select(0, 3).dim() == 0);
  CHECK_THROWS_WITH_PART(x.narrow(1, 2, 2), "out of range");
  CHECK_THROWS_WITH_PART(x.narrow(1, -1, 1), "out of range");
  CHECK_THROWS_WITH_PART(x.select(0, 2), "out of range");
  CHECK_THROWS_WITH_PART(x.select(0, -3), "out of range");
  CHECK_THROWS_WITH_PART(scalar_tensor(1).select(0, 0), "select");
  CHECK_THROWS_WITH_PART(scalar_tensor(1).narrow(0, 0, 1), "narrow");
}

TEST_CASE("expand: stride 0, shared storage, errors") {
  Tensor x = from_vector(std::vector<double>{1, 2, 3}, {3, 1}, {DType::Float64});
  Tensor e = x.expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK_FALSE(e.is_contiguous());
  CHECK(same_storage(x, e));
  CHECK(e.at({1, 2, 3}) == 3);
  x.set({1, 0}, 20);
  CHECK(e.at({0, 1, 2}) == 20);  // every broadcast copy sees the write
  CHECK(e.at({1, 1, 0}) == 20);
  CHECK(x.expand({-1, 5}).shape() == Shape{3, 5});
  CHECK(x.expand({3, 1}).impl() == x.impl());
  CHECK(e.contiguous().to_vector<double>() == e.to_vector<double>());
  CHECK_THROWS_WITH_PART(x.expand({4, 2}), "cannot expand (3, 1) to (4, 2)");
  CHECK_THROWS_WITH_PART(x.expand({3}), "fewer dims");
}

TEST_CASE("squeeze and unsqueeze") {
  Tensor x = indexed_234().slice(1, 1, 2);  // (2, 1, 4)
  Tensor s = x.squeeze(1);
  CHECK(s.shape() == Shape{2, 4});
  CHECK(same_storage(x, s));
  CHECK(s.at({1, 3}) == 113);
  CHECK(x.squeeze(0).shape() == Shape{2, 1, 4});  // not size 1: unchanged
  CHECK(x.squeeze(-2).shape() == Shape{2, 4});
  Tensor y = indexed_234();
  Tensor u = y.unsqueeze(1);
  CHECK(u.shape() == Shape{2, 1, 3, 4});
  CHECK(u.is_contiguous());
  CHECK(same_storage(y, u));
  CHECK(y.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(y.unsqueeze(3).shape() == Shape{2, 3, 4, 1});
  CHECK(y.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(y.transpose(0, 1).unsqueeze(1).squeeze(1).strides() == y.transpose(0, 1).strides());
  CHECK(scalar_tensor(5).unsqueeze(0).shape() == Shape{1});
  CHECK(scalar_tensor(5).squeeze(0).shape() == Shape{});
  CHECK_THROWS_WITH_PART(y.unsqueeze(5), "out of range");
  CHECK_THROWS_WITH_PART(y.squeeze(3), "out of range");
}

TEST_CASE("is_contiguous across views; contiguous() copies only when needed") {
  Tensor x = indexed_234();
  CHECK(x.is_contiguous());
  CHECK(x.contiguous().impl() == x.impl());  // already contiguous: the tensor itself
  CHECK(x.view({4, 6}).contiguous().storage() == x.storage());
  Tensor t = x.transpose(0, 1);
  CHECK_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK_FALSE(same_storage(c, t));
  CHECK(c.to_vector<double>() == t.to_vector<double>());
  CHECK(c.at({2, 1, 3}) == 123);
  // views that stay contiguous
  CHECK(x.select(0, 1).is_contiguous());
  CHECK(x.narrow(0, 1, 1).is_contiguous());
  CHECK(x.unsqueeze(2).is_contiguous());
  CHECK(x.slice(2, 0, 1).squeeze(2).is_contiguous() == false);
  CHECK(full({3, 1}, 1).expand({3, 1}).is_contiguous());
  CHECK_FALSE(full({3, 1}, 1).expand({3, 2}).is_contiguous());
  CHECK_FALSE(x.slice(1, 0, 3, 2).is_contiguous());
  CHECK(x.permute({0, 1, 2}).is_contiguous());
  // a size-1 dim with any stride does not break contiguity
  CHECK_FALSE(x.slice(1, 1, 2).is_contiguous());  // (2, 1, 4): a gap between the two rows
  CHECK(x.slice(1, 1, 2).slice(0, 1, 2).is_contiguous());  // (1, 1, 4), strides (12, 4, 1)
  CHECK(scalar_tensor(1).is_contiguous());
}

TEST_CASE("to(dtype) and clone copy; conversion rounds or truncates as C++ does") {
  Tensor x = from_vector(std::vector<double>{1.25, -2.75, 3.0}, {3}, {DType::Float64});
  Tensor f = x.to(DType::Float32);
  CHECK(f.dtype() == DType::Float32);
  CHECK_FALSE(same_storage(x, f));
  check_values(f, {1.25, -2.75, 3.0}, 0);
  Tensor i = x.to(DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  CHECK(x.to(DType::Float64).impl() == x.impl());
  Tensor c = x.clone();
  CHECK_FALSE(same_storage(x, c));
  c.set({0}, 100);
  CHECK(x.at({0}) == 1.25);
  Tensor ct = indexed_234().transpose(0, 2).clone();
  CHECK(ct.is_contiguous());
  CHECK(ct.at({3, 2, 1}) == 123);
  CHECK(arange(0, 3, 1, {DType::Int64}).to(DType::Float64).to_vector<double>() == std::vector<double>{0, 1, 2});
}

// ---- in-place ops ----------------------------------------------------------------------------

TEST_CASE("fill_ and zero_ on contiguous and strided tensors bump the version") {
  Tensor x = zeros({3, 4}, {DType::Float64});
  const uint64_t v0 = x.version();
  x.fill_(2.5);
  CHECK(x.version() == v0 + 1);
  check_values(x, std::vector<double>(12, 2.5), 0);
  x.t().slice(0, 1, 4, 2).fill_(-1);  // columns 1 and 3
  CHECK(x.version() == v0 + 2);
  check_values(x, {2.5, -1, 2.5, -1, 2.5, -1, 2.5, -1, 2.5, -1, 2.5, -1}, 0);
  x.zero_();
  CHECK(x.version() == v0 + 3);
  check_values(x, std::vector<double>(12, 0), 0);
  Tensor i = zeros({2}, {DType::Int64});
  i.fill_(3);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{3, 3});
  // a view shares the version counter with its base
  Tensor v = x.view({12});
  v.fill_(1);
  CHECK(x.version() == v0 + 4);
  x.set({0, 0}, 3);
  CHECK(v.version() == v0 + 5);
}

TEST_CASE("copy_: broadcast, dtype conversion, strided destination") {
  Tensor x = zeros({2, 3}, {DType::Float32});
  const uint64_t v0 = x.version();
  x.copy_(from_vector(std::vector<double>{1.5, 2.5, 3.5}, {3}, {DType::Float64}));
  CHECK(x.version() == v0 + 1);
  check_values(x, {1.5, 2.5, 3.5, 1.5, 2.5, 3.5}, 0);
  x.copy_(from_vector(std::vector<int64_t>{7, 8}, {2, 1}, {DType::Int64}));
  check_values(x, {7, 7, 7, 8, 8, 8}, 0);
  x.copy_(scalar_tensor(-1, {DType::Float64}));
  check_values(x, std::vector<double>(6, -1), 0);
  // into a transposed view: the source is read in the destination's index order
  Tensor y = zeros({3, 2}, {DType::Float64});
  y.t().copy_(from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, {DType::Float64}));
  check_values(y, {1, 4, 2, 5, 3, 6}, 0);
  // from a strided source
  Tensor z = zeros({2}, {DType::Float64});
  z.copy_(arange(0, 6, 1, {DType::Float64}).slice(0, 1, 6, 3));
  check_values(z, {1, 4}, 0);
  // float -> int truncates toward zero
  Tensor i = zeros({2}, {DType::Int64});
  i.copy_(tensor({2.9, -2.9}, {DType::Float64}));
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{2, -2});
  CHECK_THROWS_WITH_PART(x.copy_(zeros({4})), "cannot expand");
}

TEST_CASE("add_ with alpha and mul_: values, broadcast, strided, version") {
  Tensor x = ones({2, 3}, {DType::Float64});
  const uint64_t v0 = x.version();
  x.add_(from_vector(std::vector<double>{1, 2, 3}, {3}, {DType::Float64}), 2.0);
  CHECK(x.version() == v0 + 1);
  check_values(x, {3, 5, 7, 3, 5, 7}, 0);
  x.add_(full({2, 1}, 1, {DType::Float32}));  // other dtype, broadcast
  check_values(x, {4, 6, 8, 4, 6, 8}, 0);
  x.mul_(0.5);
  CHECK(x.version() == v0 + 3);
  check_values(x, {2, 3, 4, 2, 3, 4}, 0);
  // strided destinations
  Tensor t = x.t();  // (3, 2)
  t.add_(from_vector(std::vector<double>{10, 20}, {2}, {DType::Float64}), -1.0);
  check_values(x, {-8, -7, -6, -18, -17, -16}, 0);
  x.slice(1, 0, 3, 2).mul_(-1);
  check_values(x, {8, -7, 6, 18, -17, 16}, 0);
  // adding a tensor to itself
  Tensor y = tensor({1, 2}, {DType::Float64});
  y.add_(y);
  check_values(y, {2, 4}, 0);
  CHECK_THROWS_WITH_PART(x.add_(ones({3, 3}, {DType::Float64})), "expand");
}
