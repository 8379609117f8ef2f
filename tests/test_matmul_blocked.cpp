// test_matmul_blocked.cpp: the CPU kernel's blocked products (core/cpu/matmul.cpp, gemm_blocked):
// one large product cut into blocks of rows or of columns of C, each a single-threaded BLAS call
// on the TBB pool. Every way a block can address its operands is exercised against a double
// loop: rows split with a plain and a transposed left operand, columns split with a plain and a
// transposed right operand, a short last block, float32 and float64. Results must be bitwise the
// same on 1, 2 and 3 threads, since the blocks depend on the shapes only.
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

namespace {

// out[i][j] = Σ_k a[i][k] b[k][j] in long double, from any 2-d views.
std::vector<double> naive(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  const std::vector<double> av = a.contiguous().to_vector<double>(), bv = b.contiguous().to_vector<double>();
  std::vector<double> out(size_t(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      long double s = 0;
      for (int64_t k = 0; k < K; ++k) s += (long double)av[size_t(i * K + k)] * bv[size_t(k * N + j)];
      out[size_t(i * N + j)] = double(s);
    }
  return out;
}

}  // namespace

TEST_CASE("blocked matmul: rows and columns splits, transposed operands, short last block") {
  // Values in [-1, 1]: |error| <= K · 6e-8 · K (float32), K · 1.1e-16 · K (float64), all K <= 300.
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    const double tol = dt == DType::Float32 ? 300 * 300 * 6e-8 : 1e-11;
    Generator gen(7);
    auto u = [&](const Shape& s) { return uniform(s, -1, 1, gen, {dt}); };
    struct Case {
      const char* name;
      Tensor a, b;
    };
    const std::vector<Case> cases = {
        {"rows, a plain (300 rows: 4 blocks of 80, last 60)", u({300, 200}), u({200, 100})},
        {"rows, a transposed", u({200, 300}).t(), u({200, 100})},
        {"columns, b plain (N 300 > M 100)", u({100, 200}), u({200, 300})},
        {"columns, b transposed", u({100, 200}), u({300, 200}).t()},
        {"columns, both transposed", u({200, 100}).t(), u({300, 200}).t()},
        {"rows, batch folded: (3, 100, 150) @ (150, 120)", u({3, 100, 150}), u({150, 120})},
    };
    for (const Case& c : cases) {
      CAPTURE(std::string(c.name));
      std::vector<std::vector<double>> results;
      for (int n : {1, 2, 3}) {
        ThreadsScope t(n);
        results.push_back(matmul(c.a, c.b).to_vector<double>());
      }
      CHECK(results[0] == results[1]);  // bitwise: the blocks do not depend on the thread count
      CHECK(results[0] == results[2]);
      const Tensor a2 = c.a.dim() == 3 ? c.a.reshape({-1, c.a.size(-1)}) : c.a;
      const std::vector<double> want = naive(a2, c.b);
      REQUIRE(want.size() == results[0].size());
      for (size_t i = 0; i < want.size(); ++i) {
        INFO("element " << i << ": " << results[0][i] << " vs " << want[i]);
        REQUIRE(std::abs(results[0][i] - want[i]) <= tol);
      }
    }
  }
}

TEST_CASE("blocked matmul: gradients through the split products") {
  // The backward of a (300, 200) @ b (200, 100) is two more blocked products: g @ bᵀ (rows split,
  // b transposed) and aᵀ @ g (rows split, a transposed); checked against the double loop (a full
  // gradcheck of products this large would take minutes; test_ops_matmul gradchecks small ones).
  Generator gen(11);
  const Tensor a = uniform({300, 200}, -1, 1, gen, {DType::Float64, Device::cpu(), true});
  const Tensor b = uniform({200, 100}, -1, 1, gen, {DType::Float64, Device::cpu(), true});
  const Tensor r = uniform({300, 100}, -1, 1, gen, {DType::Float64});
  sum(mul(matmul(a, b), r)).backward();
  const std::vector<double> ga = naive(r, b.detach().t()), gb = naive(a.detach().t(), r);
  check_values(a.grad(), ga, 1e-11);
  check_values(b.grad(), gb, 1e-11);
}
