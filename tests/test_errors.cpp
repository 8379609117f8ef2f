// test_errors.cpp: difft reports every misuse with one exception type, difft::Error (a
// std::exception), whose message names the op and the shapes involved. One representative of
// each class of error, caught as a plain std::exception the way an application would; and uses of
// an undefined tensor, which must throw instead of crashing.
#include <type_traits>

#include "core/cuda.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

static_assert(std::is_base_of_v<std::exception, Error>, "difft::Error must be a std::exception");

namespace {

// Runs f, which must throw; returns the message after checking that the exception, caught as
// std::exception, is a difft::Error.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    CHECK_MESSAGE(dynamic_cast<const Error*>(&e) != nullptr, "not a difft::Error: " << std::string(e.what()));
    return e.what();
  }
  FAIL("no exception thrown");
  return "";
}

void check_contains(const std::string& msg, std::initializer_list<const char*> parts) {
  INFO("message: " << msg);
  for (const char* p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing: " << std::string(p));
}

}  // namespace

TEST_CASE("shape mismatch: names the op and both shapes") {
  check_contains(error_of([] { add(zeros({2, 3}), zeros({4})); }), {"add:", "(2, 3)", "(4,)", "broadcast"});
  check_contains(error_of([] { matmul(zeros({2, 3}), zeros({4, 5})); }), {"matmul:", "(2, 3)", "(4, 5)", "3 != 4"});
  check_contains(error_of([] { (void)zeros({6}).view({4, -1}); }), {"view:", "(4, -1)", "(6,)"});
  check_contains(error_of([] { (void)zeros({3, 2}).expand({3, 4}); }), {"expand:", "(3, 2)", "(3, 4)"});
}

TEST_CASE("dtype mismatch: names the op, the dtypes and the shapes") {
  check_contains(error_of([] { mul(zeros({2, 3}), zeros({2, 3}, {DType::Float64})); }),
                 {"mul:", "dtype mismatch", "float32 (2, 3)", "float64 (2, 3)"});
  check_contains(error_of([] { exp(zeros({2}, {DType::Int64})); }), {"exp:", "int64", "(2,)"});
}

TEST_CASE("device errors") {
  if (cuda_is_available()) {
    Tensor c = empty({2}, {DType::Float32, Device::cuda()});
    check_contains(error_of([&] { add(empty({2}), c); }), {"add:", "device mismatch", "cpu (2,)", "cuda:0 (2,)"});
  } else if (cuda_is_built()) {
    // built with CUDA on a machine without a GPU: the allocation is the device error
    check_contains(error_of([] { (void)empty({2}, {DType::Float32, Device::cuda()}); }), {"cuda", "no CUDA device"});
  } else {
    // without a cuda backend, asking for a cuda tensor is the device error
    check_contains(error_of([] { (void)empty({2}, {DType::Float32, Device::cuda()}); }), {"cuda", "-DDIFFT_CUDA=ON"});
  }
}

TEST_CASE("dim out of range: names the op, the dim and the rank") {
  check_contains(error_of([] { sum(zeros({2, 3}), {2}); }), {"sum:", "dim 2", "2-d"});
  check_contains(error_of([] { (void)zeros({2, 3}).transpose(0, -3); }), {"transpose:", "dim -3", "2-d"});
  check_contains(error_of([] { (void)zeros({2, 3}).slice(1, 5, 4, 0); }), {"slice:", "step"});
  check_contains(error_of([] { (void)zeros({2, 3}).narrow(1, 2, 2); }), {"narrow:", "(2, 3)"});
  check_contains(error_of([] { (void)zeros({2, 3}).at({0, 3}); }), {"at:", "(2, 3)"});
}

TEST_CASE("backward through a freed graph: names the op and the remedy") {
  Tensor x = full({2}, 1.0, {DType::Float64, Device::cpu(), true});
  Tensor y = sum(exp(x));
  y.backward();
  check_contains(error_of([&] { y.backward(); }), {"second time", "sum", "retain_graph"});
}

TEST_CASE("modified saved tensor: names the shape and the versions") {
  Tensor w = full({2, 3}, 1.0, {DType::Float64, Device::cpu(), true});
  Tensor x = full({2, 3}, 2.0, {DType::Float64});
  Tensor y = sum(mul(w, x));
  x.fill_(3);
  check_contains(error_of([&] { y.backward(); }), {"modified in place", "(2, 3)", "version 0"});
}

TEST_CASE("undefined tensors throw instead of crashing") {
  const Tensor u;
  const Tensor x = zeros({2});
  CHECK_FALSE(u.defined());
  CHECK(u.str() == "tensor(undefined)");
  // metadata and element access
  CHECK_THROWS_WITH_PART(u.shape(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.numel(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.dtype(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.item(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.to_vector<float>(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.grad(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.requires_grad(), "undefined tensor");
  // views and conversions
  CHECK_THROWS_WITH_PART(u.view({2}), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.t(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.contiguous(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.detach(), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.to(DType::Float64), "undefined tensor");
  // ops name themselves
  CHECK_THROWS_WITH_PART(add(x, u), "add: undefined tensor");
  CHECK_THROWS_WITH_PART(sub(u, x), "sub: undefined tensor");
  CHECK_THROWS_WITH_PART(mul(x, u), "mul: undefined tensor");
  CHECK_THROWS_WITH_PART(div(u, x), "div: undefined tensor");
  CHECK_THROWS_WITH_PART(maximum(u, x), "maximum: undefined tensor");
  CHECK_THROWS_WITH_PART(exp(u), "exp: undefined tensor");
  CHECK_THROWS_WITH_PART(mul(u, 2.0), "mul: undefined tensor");
  CHECK_THROWS_WITH_PART(sum(u), "sum: undefined tensor");
  CHECK_THROWS_WITH_PART(amax(u), "amax: undefined tensor");
  CHECK_THROWS_WITH_PART(argmax(u, 0), "argmax: undefined tensor");
  CHECK_THROWS_WITH_PART(matmul(u, x), "matmul: undefined tensor");
  // in-place and autograd entry points
  Tensor y = zeros({2});
  CHECK_THROWS_WITH_PART(y.copy_(u), "undefined tensor");
  CHECK_THROWS_WITH_PART(y.add_(u), "undefined tensor");
  CHECK_THROWS_WITH_PART(u.backward(), "undefined tensor");
  CHECK_THROWS_WITH_PART(Tensor(u).fill_(1), "undefined tensor");
  y.set_grad(u);  // clearing a gradient is allowed
  CHECK_FALSE(y.grad().defined());
}
