// test_smoke.cpp: the engine end to end on a few ops (the full suites are per op group).
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

TEST_CASE("mul/add/matmul/sum gradients match finite differences") {
  Tensor a = leaf({3, 4}, 1), b = leaf({4}, 2), w = leaf({4, 5}, 3);
  CHECK_GRAD([](const std::vector<Tensor>& in) { return sum(matmul(mul(in[0], in[1]) + in[1], in[2]), {1}); }, a, b, w);
  CHECK_GRAD([](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); }, leaf({4, 3}, 4), leaf({5, 4}, 5));
  CHECK_GRAD([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, leaf({2, 3, 4}, 6), leaf({4, 2}, 7));
}

TEST_CASE("gradcheck catches a wrong gradient") {
  // relu's gradient is not the identity: a deliberately mismatched function must fail.
  Tensor x = leaf({5}, 9);
  const GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) {
    Tensor y = in[0].detach();  // cuts the graph: analytic gradient 0, numeric 1
    return add(mul(in[0], 0.0), y);
  }, {x});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("analytic") != std::string::npos);
}
