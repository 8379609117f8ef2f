// helpers.h: shared by the test suites. Gradient checks and closeness assertions.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/error.h"
#include "core/generator.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace difft::test {

// A float64 leaf of shape s with values U(lo, hi) from a fixed seed.
inline Tensor leaf(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator g(seed);
  return uniform(s, lo, hi, g, {DType::Float64, Device::cpu(), true});
}

// Gradient check of f at inputs with the default (tight) tolerances of core/gradcheck.h.
#define CHECK_GRAD(f, ...)                                                            \
  do {                                                                               \
    const ::difft::GradcheckResult r_ = ::difft::gradcheck((f), {__VA_ARGS__});      \
    INFO(r_.message);                                                                \
    CHECK(r_.ok);                                                                    \
    CHECK(r_.checked > 0);                                                           \
  } while (0)

// Every element of a equals b within atol + rtol*|b|.
inline void check_close(const Tensor& a, const Tensor& b, double atol, double rtol) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " vs " << y[i]);
    REQUIRE(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]));
  }
}

inline void check_values(const Tensor& a, const std::vector<double>& want, double tol) {
  const std::vector<double> x = a.to_vector<double>();
  REQUIRE(x.size() == want.size());
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " vs " << want[i]);
    REQUIRE(std::abs(x[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
  }
}

// The exception thrown by expr is a difft::Error whose message contains `part`.
// An expr with braces, zeros({1, 2}), needs its own parentheses: ((zeros({1, 2}))).
#define CHECK_THROWS_WITH_PART(expr, part)                            \
  do {                                                                     \
    bool thrown_ = false;                                                  \
    try {                                                                  \
      (void)(expr);                                                        \
    } catch (const ::difft::Error& e_) {                                   \
      thrown_ = true;                                                      \
      INFO("message: " << std::string(e_.what()));                                      \
      CHECK(std::string(e_.what()).find(part) != std::string::npos);       \
    }                                                                      \
    CHECK_MESSAGE(thrown_, "expected a difft::Error containing: " << part); \
  } while (0)

// Sets the number of threads for one scope, then restores the previous count (for tests that
// check results do not depend on it).
struct ThreadsScope {
  int prev = num_threads();
  explicit ThreadsScope(int n) { set_num_threads(n); }
  ~ThreadsScope() { set_num_threads(prev); }
  ThreadsScope(const ThreadsScope&) = delete;
  ThreadsScope& operator=(const ThreadsScope&) = delete;
};

}  // namespace difft::test
