// test_ops_reduce.cpp: sum, mean, amax/amin/max, argmax: values against a naive reference for
// every dims/keepdim combination and layout, float64 gradient checks (including ties), the three
// kernel loop shapes (rows, columns, chunked), thread-count independence, and errors.
#include <algorithm>
#include <limits>

#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;
using In = const std::vector<Tensor>&;

namespace {

enum class Op { Sum, Mean, Max, Min };

// Reduces x over dims (all when empty) by a plain loop in long double; keepdim-shaped result.
std::vector<double> naive(const Tensor& x, std::vector<int64_t> dims, Op op, Shape& keep) {
  const Shape s = x.shape();
  std::vector<bool> red(s.size(), dims.empty());
  for (int64_t d : dims) red[size_t(d < 0 ? d + int64_t(s.size()) : d)] = true;
  keep = s;
  for (size_t i = 0; i < s.size(); ++i)
    if (red[i]) keep[i] = 1;
  const std::vector<double> v = x.to_vector<double>();
  const int64_t n_out = shape_numel(keep);
  const long double init = op == Op::Max ? -INFINITY : op == Op::Min ? INFINITY : 0;
  std::vector<long double> acc(size_t(n_out), init);
  std::vector<int64_t> count(size_t(n_out), 0);
  for (int64_t flat = 0; flat < int64_t(v.size()); ++flat) {
    int64_t rem = flat, out = 0, mult = 1;
    for (size_t d = s.size(); d-- > 0;) {
      const int64_t i = rem % s[d];
      rem /= s[d];
      if (!red[d]) out += i * mult;
      mult *= keep[d];
    }
    long double& a = acc[size_t(out)];
    const long double e = v[size_t(flat)];
    a = op == Op::Max ? std::max(a, e) : op == Op::Min ? std::min(a, e) : a + e;
    ++count[size_t(out)];
  }
  std::vector<double> r;
  for (int64_t o = 0; o < n_out; ++o)
    r.push_back(double(op == Op::Mean ? acc[size_t(o)] / (long double)count[size_t(o)] : acc[size_t(o)]));
  return r;
}

Tensor run(Op op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  switch (op) {
    case Op::Sum: return sum(x, dims, keepdim);
    case Op::Mean: return mean(x, dims, keepdim);
    case Op::Max: return amax(x, dims, keepdim);
    case Op::Min: return amin(x, dims, keepdim);
  }
  return Tensor();
}

// The shape without the size-1 reduced dims of keep.
Shape squeezed(const Shape& s, const std::vector<int64_t>& dims) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool r = dims.empty();
    for (int64_t d : dims) r = r || size_t(d < 0 ? d + int64_t(s.size()) : d) == i;
    if (!r) out.push_back(s[i]);
  }
  return out;
}

}  // namespace

TEST_CASE("sum/mean/amax/amin: values for every dims and keepdim, contiguous and strided") {
  // float64: the kernel sums in double in its own order, the reference in long double: a few ulps
  // of the magnitudes involved (1e-13 relative to max(1, |want|) is ample for <= 24 terms of |x| <= 1).
  // float32: inputs are float32, sums are accumulated in double and rounded once to float32:
  // within half an ulp (6e-8) of the exact sum, so 1e-6 relative to max(1, |want|).
  Generator gen(17);
  const Tensor base = uniform({2, 3, 4}, -1, 1, gen, {DType::Float64});
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {1}, {2}, {-1}, {-3}, {0, 2}, {2, 0}, {-1, 1}, {0, 1, 2}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
    const Tensor x = base.to(dt);
    // layouts: contiguous, permuted, a transposed (2-d view of a slice), expanded
    const std::vector<Tensor> inputs = {x, x.permute({2, 0, 1}), x.transpose(0, 2), x.slice(2, 0, 4, 2),
                                        x.select(0, 1).unsqueeze(0).expand({2, 3, 4})};
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor& in = inputs[k];
      for (const auto& dims : dim_sets) {
        for (Op op : {Op::Sum, Op::Mean, Op::Max, Op::Min}) {
          for (bool keepdim : {false, true}) {
            CAPTURE(std::string(dtype_name(dt)));
            CAPTURE(k);
            CAPTURE(int(op));
            CAPTURE(keepdim);
            CAPTURE(shape_str(Shape(dims.begin(), dims.end())));
            Shape keep;
            const std::vector<double> want = naive(in, dims, op, keep);
            const Tensor got = run(op, in, dims, keepdim);
            CHECK(got.dtype() == dt);
            CHECK(got.shape() == (keepdim ? keep : squeezed(in.shape(), dims)));
            check_values(got, want, tol);
          }
        }
      }
    }
  }
  CHECK(max(base, {1}).to_vector<double>() == amax(base, {1}).to_vector<double>());
}

TEST_CASE("reductions of 0-d and one-element tensors") {
  Tensor s = scalar_tensor(2.5, {DType::Float64});
  CHECK(sum(s).item() == 2.5);
  CHECK(sum(s, {0}).dim() == 0);
  CHECK(sum(s, {-1}, true).dim() == 0);
  CHECK(mean(s).item() == 2.5);
  CHECK(amax(s).item() == 2.5);
  CHECK(argmax(s, 0).item() == 0);
  CHECK(sum(full({1, 1}, 3)).item() == 3);
  CHECK(sum(full({1, 1}, 3), {0}).shape() == Shape{1});
}

TEST_CASE("sum of an empty tensor is 0; mean over dims of an empty tensor") {
  CHECK(sum(zeros({0})).item() == 0);
  Tensor e = zeros({2, 0, 3}, {DType::Float64});
  Tensor s = sum(e, {1});
  CHECK(s.shape() == Shape{2, 3});
  check_values(s, std::vector<double>(6, 0), 0);
  CHECK(sum(e, {0}).shape() == Shape{0, 3});
}

TEST_CASE("amax/amin propagate NaN") {
  Tensor x = tensor({1, NAN, 3}, {DType::Float64});
  CHECK(std::isnan(amax(x).item()));
  CHECK(std::isnan(amin(x).item()));
  CHECK(sum(x).item() != sum(x).item());
}

// ---- gradients -------------------------------------------------------------------------------

TEST_CASE("sum/mean gradients: dims, keepdim, negative dims, strided inputs") {
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {-1}, {0, 2}, {1, -1}};
  for (const auto& dims : dim_sets) {
    for (bool keepdim : {false, true}) {
      CAPTURE(keepdim);
      CHECK_GRAD(([dims, keepdim](In in) { return sum(in[0], dims, keepdim); }), leaf({2, 3, 4}, 1));
      CHECK_GRAD(([dims, keepdim](In in) { return mean(in[0], dims, keepdim); }), leaf({2, 3, 4}, 2));
      CHECK_GRAD(([dims, keepdim](In in) { return sum(in[0].transpose(0, 2), dims, keepdim); }), leaf({4, 3, 2}, 3));
      CHECK_GRAD(([dims, keepdim](In in) { return mean(in[0].slice(2, 0, 8, 2), dims, keepdim); }), leaf({2, 3, 8}, 4));
      CHECK_GRAD(([dims, keepdim](In in) { return sum(in[0].expand({2, 3, 4}), dims, keepdim); }), leaf({3, 1}, 5));
    }
  }
  CHECK_GRAD([](In in) { return mean(in[0].t(), {0}); }, leaf({4, 3}, 6));
  CHECK_GRAD([](In in) { return sum(in[0]); }, leaf({}, 7));
}

TEST_CASE("amax/amin/max gradients with unique extremes") {
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {-1}, {0, 2}};
  for (const auto& dims : dim_sets) {
    for (bool keepdim : {false, true}) {
      Tensor x = leaf({2, 3, 4}, 11);
      {
        // the finite difference (eps 1e-6) must not change which element is the extreme
        std::vector<double> v = x.to_vector<double>();
        std::sort(v.begin(), v.end());
        for (size_t i = 1; i < v.size(); ++i) REQUIRE(v[i] - v[i - 1] > 1e-5);
      }
      CHECK_GRAD(([dims, keepdim](In in) { return amax(in[0], dims, keepdim); }), x);
      CHECK_GRAD(([dims, keepdim](In in) { return amin(in[0], dims, keepdim); }), x);
      CHECK_GRAD(([dims, keepdim](In in) { return max(in[0].permute({1, 2, 0}), dims, keepdim); }), x);
      CHECK_GRAD(([dims, keepdim](In in) { return amax(in[0].slice(2, 1, 4, 2), dims, keepdim); }), x);
    }
  }
}

TEST_CASE("amax/amin: tied extremes share the gradient evenly") {
  Tensor x = from_vector(std::vector<double>{1, 3, 3, 2, 5, 5, 5, 0}, {2, 4}, {DType::Float64, Device::cpu(), true});
  Tensor m = amax(x, {1});
  check_values(m, {3, 5}, 0);
  sum(mul(m, tensor({1, 6}, {DType::Float64}))).backward();
  check_values(x.grad(), {0, 0.5, 0.5, 0, 2, 2, 2, 0}, 1e-15);
  x.zero_grad();
  amax(x).backward();  // three 5s over the whole tensor
  check_values(x.grad(), {0, 0, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0}, 1e-15);
  x.zero_grad();
  Tensor y = from_vector(std::vector<double>{0, 0, 1, 0}, {2, 2}, {DType::Float64, Device::cpu(), true});
  sum(amin(y.t(), {1}, true)).backward();  // columns of y: (0, 1) and (0, 0)
  check_values(y.grad(), {1, 0.5, 0, 0.5}, 1e-15);
}

// ---- argmax ----------------------------------------------------------------------------------

TEST_CASE("argmax: values, first maximum, keepdim, negative dims, strided input") {
  Tensor x = from_vector(std::vector<double>{1, 7, 3, 7, 9, 2, 9, 0, -1, -5, -1, -2}, {3, 4}, {DType::Float64});
  Tensor a1 = argmax(x, 1);
  CHECK(a1.dtype() == DType::Int64);
  CHECK(a1.shape() == Shape{3});
  CHECK(a1.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});  // ties: the first
  CHECK(argmax(x, -1, true).shape() == Shape{3, 1});
  CHECK(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1, 0});
  CHECK(argmax(x.t(), 1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1, 0});
  CHECK(argmax(x.to(DType::Float32), 1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});
  Tensor y = arange(0, 24, 1, {DType::Float64}).view({2, 3, 4}).permute({1, 2, 0});  // y[i,j,k] = 12k + 4i + j
  CHECK(argmax(y, 0).to_vector<int64_t>() == std::vector<int64_t>(8, 2));
  CHECK(argmax(y, 1, true).shape() == Shape{3, 1, 2});
  CHECK(argmax(y, 1).to_vector<int64_t>() == std::vector<int64_t>(6, 3));
  CHECK(argmax(y, 2).to_vector<int64_t>() == std::vector<int64_t>(12, 1));
  Tensor z = zeros({2, 3, 4}, {DType::Float64});
  z.set({1, 2, 0}, 5);
  z.set({0, 0, 3}, 4);
  CHECK(argmax(z, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 0, 2, 0, 0, 0});
  CHECK(argmax(z, 2).to_vector<int64_t>() == std::vector<int64_t>{3, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_PART(argmax(x, 2), "out of range");
  CHECK_THROWS_WITH_PART(argmax(zeros({3, 0}), 1), "empty");
}

// ---- the kernel's loop shapes -----------------------------------------------------------------

TEST_CASE("sum of 2^20 float32 ones is exactly 1048576") {
  CHECK(sum(ones({1 << 20})).item() == 1048576.0);
  CHECK(sum(ones({1 << 10, 1 << 10}), {1}).to_vector<float>() == std::vector<float>(1 << 10, 1024.0f));
  CHECK(mean(ones({1 << 20})).item() == 1.0);
}

TEST_CASE("a 16M-element float32 sum (the chunked path) accumulates without float drift") {
  // 3 * 2^24 is exactly representable in float32, but a float32 running sum stalls once the
  // spacing of floats passes 3 (above 2^25): only wider accumulation gets it exactly.
  Tensor x = full({1 << 24}, 3.0);
  CHECK(sum(x).item() == 50331648.0);
  CHECK(amax(x).item() == 3.0);
  x.set({12345678}, 7);
  CHECK(amax(x).item() == 7.0);
  CHECK(amin(x).item() == 3.0);
}

TEST_CASE("every loop shape matches the reference on large inputs, bitwise across threads") {
  Generator gen(99);
  struct Case {
    const char* what;
    Tensor x;
    std::vector<int64_t> dims;
  };
  const Tensor a = uniform({300, 700}, -1, 1, gen, {DType::Float32});
  const Tensor b = uniform({3, 100000}, -1, 1, gen, {DType::Float32});
  const Tensor c = uniform({1 << 20}, -1, 1, gen, {DType::Float32});
  const std::vector<Case> cases = {
      {"rows: contiguous reduced run", a, {1}},
      {"columns: reduce dim 0, kept dim contiguous (> 256 wide)", a, {0}},
      {"rows on a transposed input", a.t(), {0}},
      {"chunked: few outputs", b, {1}},
      {"chunked: strided reduced dim", b.t(), {0}},
      {"chunked: everything", c, {}},
      {"strided fallback: sliced", a.slice(1, 0, 700, 3), {0, 1}},
      {"rows with leading kept dims", c.view({16, 64, 1024}), {0, 2}},
  };
  for (const Case& k : cases) {
    CAPTURE(std::string(k.what));
    for (Op op : {Op::Sum, Op::Max, Op::Min}) {
      CAPTURE(int(op));
      Tensor r1, r2;
      {
        ThreadsScope t(1);
        r1 = run(op, k.x, k.dims, false);
      }
      {
        ThreadsScope t(2);
        r2 = run(op, k.x, k.dims, false);
      }
      CHECK(r1.to_vector<float>() == r2.to_vector<float>());  // bitwise
      Shape keep;
      // sums of up to 2^20 float32 values in [-1, 1], accumulated in double then rounded to
      // float32: within half a float32 ulp of the exact sum, plus double rounding ~n * 1e-16.
      check_values(r1, naive(k.x, k.dims, op, keep), 1e-6);
    }
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST_CASE("reduction errors: dim out of range, repeated dim, empty extremes, integer input") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_PART(sum(x, {2}), "sum: dim 2 out of range for a 2-d tensor");
  CHECK_THROWS_WITH_PART(mean(x, {-3}), "mean: dim -3 out of range");
  CHECK_THROWS_WITH_PART(amax(x, {5}), "amax");
  CHECK_THROWS_WITH_PART(sum(x, {1, 1}), "sum: dim 1 listed twice");
  CHECK_THROWS_WITH_PART(sum(x, {1, -1}), "listed twice");
  CHECK_THROWS_WITH_PART(amin(x, {0, -2}), "amin");
  CHECK_THROWS_WITH_PART(amax(zeros({0})), "amax: reduction of an empty tensor (0,)");
  CHECK_THROWS_WITH_PART(amin(zeros({3, 0}), {1}), "amin");
  CHECK_THROWS_WITH_PART(sum(zeros({2}, {DType::Int64})), "sum: needs a floating tensor");
  CHECK_THROWS_WITH_PART(sum(scalar_tensor(1), {1}), "out of range");
}
