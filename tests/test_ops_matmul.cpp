// test_ops_matmul.cpp: matmul against a naive triple loop for every operand form (2-d, batched,
// broadcast batch, vectors, transposed, sliced, expanded), float64 gradient checks of the same,
// the kernel's batch strategies, and errors.
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;
using In = const std::vector<Tensor>&;

namespace {

// torch.matmul semantics by definition: 1-d operands become a row (left) or a column (right),
// batch dims broadcast, out[..., i, j] = Σ_k a[..., i, k] b[..., k, j]. Also returns
// Σ_k |a||b| per element, the scale of the rounding error of the sum.
struct Ref {
  Tensor value, scale;
};
Ref naive_matmul(Tensor a, Tensor b) {
  NoGradGuard g;
  const bool va = a.dim() == 1, vb = b.dim() == 1;
  if (va) a = a.unsqueeze(0);
  if (vb) b = b.unsqueeze(1);
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  REQUIRE(b.size(-2) == K);
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2), "test");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  const std::vector<double> av = a.expand(sa).to_vector<double>(), bv = b.expand(sb).to_vector<double>();
  const int64_t nb = shape_numel(batch);
  std::vector<double> out(size_t(nb * M * N)), scale(out.size());
  for (int64_t p = 0; p < nb; ++p)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        long double s = 0, m = 0;
        for (int64_t k = 0; k < K; ++k) {
          const long double x = av[size_t((p * M + i) * K + k)], y = bv[size_t((p * K + k) * N + j)];
          s += x * y;
          m += std::abs(x * y);
        }
        out[size_t((p * M + i) * N + j)] = double(s);
        scale[size_t((p * M + i) * N + j)] = double(m);
      }
  Shape final_shape = batch;
  if (!va) final_shape.push_back(M);
  if (!vb) final_shape.push_back(N);
  return {from_vector(out, final_shape, {DType::Float64}), from_vector(scale, final_shape, {DType::Float64})};
}

// got vs the reference: |got - want| <= rtol * Σ|a||b| (+ a tiny absolute floor for exact zeros).
void check_matmul(const Tensor& got, const Ref& ref, double rtol) {
  REQUIRE(got.shape() == ref.value.shape());
  const std::vector<double> g = got.to_vector<double>(), w = ref.value.to_vector<double>(),
                            s = ref.scale.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": " << g[i] << " vs " << w[i] << " (scale " << s[i] << ")");
    REQUIRE(std::abs(g[i] - w[i]) <= rtol * s[i] + 1e-300);
  }
}

struct Form {
  const char* name;
  Shape sa, sb;
  std::function<Tensor(const Tensor&)> fa, fb;  // the view taken of each leaf inside f
};
Tensor id(const Tensor& t) { return t; }

// Every operand form the op supports. Leaves have shapes sa/sb; fa/fb make the operand.
std::vector<Form> forms() {
  return {
      {"2-d", {3, 4}, {4, 5}, id, id},
      {"batched 3-d", {2, 3, 4}, {2, 4, 5}, id, id},
      {"broadcast batch (2,1,3,4) @ (5,4,2)", {2, 1, 3, 4}, {5, 4, 2}, id, id},
      {"batched @ matrix (shared weight)", {2, 3, 4}, {4, 5}, id, id},
      {"matrix @ batched", {3, 4}, {2, 4, 5}, id, id},
      {"matrix @ vector", {3, 4}, {4}, id, id},
      {"vector @ matrix", {4}, {4, 5}, id, id},
      {"vector @ vector", {4}, {4}, id, id},
      {"batched @ vector", {2, 3, 4}, {4}, id, id},
      {"vector @ batched", {4}, {2, 4, 5}, id, id},
      {"a.t() @ b", {4, 3}, {4, 5}, [](const Tensor& t) { return t.t(); }, id},
      {"a @ b.t()", {3, 4}, {5, 4}, id, [](const Tensor& t) { return t.t(); }},
      {"a.t() @ b.t()", {4, 3}, {5, 4}, [](const Tensor& t) { return t.t(); }, [](const Tensor& t) { return t.t(); }},
      {"batched transpose(-1, -2) both", {2, 4, 3}, {2, 5, 4}, [](const Tensor& t) { return t.transpose(-1, -2); },
       [](const Tensor& t) { return t.transpose(-1, -2); }},
      {"batch-major transposed a", {3, 2, 4}, {2, 4, 5}, [](const Tensor& t) { return t.transpose(0, 1); }, id},
      {"column slice of a (row stride > K)", {3, 7}, {4, 5}, [](const Tensor& t) { return t.slice(1, 1, 5); }, id},
      {"stepped slices", {6, 4}, {4, 10}, [](const Tensor& t) { return t.slice(0, 0, 6, 2); },
       [](const Tensor& t) { return t.slice(1, 1, 10, 2); }},
      {"sliced batch", {4, 3, 4}, {4, 5}, [](const Tensor& t) { return t.slice(0, 1, 4, 2); }, id},
      {"expanded batch of a", {3, 4}, {2, 4, 5}, [](const Tensor& t) { return t.expand({2, 3, 4}); }, id},
      {"expanded matrix dims (stride 0)", {3, 1}, {4, 5}, [](const Tensor& t) { return t.expand({3, 4}); }, id},
      {"expanded rows of b (stride 0)", {3, 4}, {1, 5}, id, [](const Tensor& t) { return t.expand({4, 5}); }},
      {"expanded, transposed a (strides (1, 0))", {1, 3}, {4, 5}, [](const Tensor& t) { return t.expand({4, 3}).t(); }, id},
      {"vector slice with a step", {3, 4}, {8}, id, [](const Tensor& t) { return t.slice(0, 0, 8, 2); }},
      {"single row and column", {1, 4}, {4, 1}, id, id},
  };
}

}  // namespace

TEST_CASE("matmul values against a naive loop, float64 and float32, every operand form") {
  // float64: BLAS sums K = 4..10 products in double: error <= K eps Σ|a||b| ≈ 2e-15 Σ|a||b|;
  // 1e-12 leaves room for any summation order. float32: the same sum in float32 (eps 6e-8)
  // errs by up to ~K * 6e-8 ≈ 6e-7 of Σ|a||b|: 1e-5 relative to that scale.
  for (const Form& f : forms()) {
    CAPTURE(std::string(f.name));
    const Tensor la = leaf(f.sa, 1).detach(), lb = leaf(f.sb, 2).detach();
    const Ref ref = naive_matmul(f.fa(la), f.fb(lb));
    check_matmul(matmul(f.fa(la), f.fb(lb)), ref, 1e-12);
    const Tensor a32 = la.to(DType::Float32), b32 = lb.to(DType::Float32);
    const Tensor got32 = matmul(f.fa(a32), f.fb(b32));
    CHECK(got32.dtype() == DType::Float32);
    check_matmul(got32, naive_matmul(f.fa(a32), f.fb(b32)), 1e-5);
  }
}

TEST_CASE("matmul gradients match finite differences for every operand form") {
  for (const Form& f : forms()) {
    CAPTURE(std::string(f.name));
    auto fa = f.fa, fb = f.fb;
    CHECK_GRAD(([fa, fb](In in) { return matmul(fa(in[0]), fb(in[1])); }), leaf(f.sa, 3), leaf(f.sb, 4));
  }
  // one operand constant; the same leaf on both sides
  CHECK_GRAD([](In in) { return matmul(in[0], in[0].t()); }, leaf({3, 4}, 5));
  Tensor w = leaf({4, 5}, 6).detach();
  CHECK_GRAD([w](In in) { return matmul(in[0], w); }, leaf({2, 3, 4}, 7));
}

TEST_CASE("shared-weight backward (x (2,3,4) @ w (4,5)) folds the batch: values") {
  Tensor x = leaf({2, 3, 4}, 8), w = leaf({4, 5}, 9);
  Tensor gy = leaf({2, 3, 5}, 10).detach();
  matmul(x, w).backward(gy);
  // gw = Σ_b x[b]ᵀ gy[b], gx = gy wᵀ, computed per batch entry
  Tensor gw = zeros({4, 5}, {DType::Float64});
  for (int64_t bi = 0; bi < 2; ++bi) gw = add(gw, naive_matmul(x.detach().select(0, bi).t(), gy.select(0, bi)).value);
  check_close(w.grad(), gw, 1e-14, 1e-12);
  check_close(x.grad(), naive_matmul(gy, w.detach().t()).value, 1e-14, 1e-12);
  // and through a non-contiguous x (a transposed batch): the fold's reshape must copy
  Tensor x2 = leaf({3, 2, 4}, 11), w2 = leaf({4, 5}, 12);
  matmul(x2.transpose(0, 1), w2).backward(gy);
  Tensor gw2 = zeros({4, 5}, {DType::Float64});
  for (int64_t bi = 0; bi < 2; ++bi) gw2 = add(gw2, naive_matmul(x2.detach().select(1, bi).t(), gy.select(0, bi)).value);
  check_close(w2.grad(), gw2, 1e-14, 1e-12);
  CHECK_GRAD([](In in) { return matmul(in[0].transpose(0, 1), in[1]); }, leaf({3, 2, 4}, 13), leaf({4, 5}, 14));
}

TEST_CASE("matmul batch strategies on larger inputs: folded, many small, few large") {
  Generator gen(21);
  auto u = [&](const Shape& s) { return uniform(s, -1, 1, gen, {DType::Float32}); };
  struct Case {
    const char* name;
    Tensor a, b;
  };
  const std::vector<Case> cases = {
      {"folded: (8, 64, 96) @ (96, 80)", u({8, 64, 96}), u({96, 80})},
      {"many small: (64, 16, 24) @ (64, 24, 8)", u({64, 16, 24}), u({64, 24, 8})},
      {"few large: (2, 300, 200) @ (2, 200, 260)", u({2, 300, 200}), u({2, 200, 260})},
      {"many small, transposed b", u({32, 12, 20}), u({32, 9, 20}).transpose(-1, -2)},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    Tensor r1, r2;
    {
      ThreadsScope t(1);
      r1 = matmul(c.a, c.b);
    }
    {
      ThreadsScope t(2);
      r2 = matmul(c.a, c.b);
    }
    // float32 sums of K <= 200 products: error <= ~K * 6e-8 of Σ|a||b|
    check_matmul(r1, naive_matmul(c.a, c.b), 2e-5);
    check_matmul(r2, naive_matmul(c.a, c.b), 2e-5);
  }
}

TEST_CASE("matmul with empty dims") {
  check_values(matmul(zeros({2, 0}), zeros({0, 3})), std::vector<double>(6, 0), 0);  // K = 0: zeros
  CHECK(matmul(zeros({0, 4}), zeros({4, 3})).shape() == Shape{0, 3});
  CHECK(matmul(zeros({2, 4}), zeros({4, 0})).shape() == Shape{2, 0});
  CHECK(matmul(zeros({0, 2, 4}), zeros({4, 3})).shape() == Shape{0, 2, 3});
  Tensor a = full({2, 0}, 1, {DType::Float64, Device::cpu(), true}), b = full({0, 3}, 1, {DType::Float64, Device::cpu(), true});
  sum(matmul(a, b)).backward();
  CHECK(a.grad().shape() == Shape{2, 0});
  CHECK(b.grad().shape() == Shape{0, 3});
}

TEST_CASE("matmul errors name the op and both shapes") {
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3}), zeros({4, 5})), "matmul: inner dimensions differ");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3}), zeros({4, 5})), "(2, 3)");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3}), zeros({4, 5})), "(4, 5)");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3}), zeros({4})), "(4,)");    // as the caller passed it
  CHECK_THROWS_WITH_PART(matmul(zeros({3}), zeros({4, 5})), "(3,)");
  CHECK_THROWS_WITH_PART(matmul(zeros({3}), zeros({4})), "vector lengths differ");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), "(2, 3, 4)");  // batch dims
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), "(3, 4, 5)");
  CHECK_THROWS_WITH_PART(matmul(scalar_tensor(1), zeros({2, 2})), "matmul: both operands need at least 1 dim, got a ()");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 2}), scalar_tensor(1)), "b ()");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 2}), zeros({2, 2}, {DType::Float64})), "matmul: dtype mismatch");
  CHECK_THROWS_WITH_PART(matmul(zeros({2, 2}, {DType::Int64}), zeros({2, 2}, {DType::Int64})), "matmul: needs a floating tensor");
}
