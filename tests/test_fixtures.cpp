// test_fixtures.cpp: both models against the project's PyTorch twin (scripts/torch_reference.py,
// run with Debian's python3-torch 1.13 to write tests/fixtures/*.safetensors).
//
// Tolerances (float32 on both sides; same math, different summation orders):
//  - logits and loss: |a − b| ≤ 2e-5 + 2e-5·|b|. A float32 op rounds at 6e-8 relative; two blocks
//    of ~15 ops with dot products of up to 48 terms accumulate a few 1e-6, so 2e-5 is a 3-10×
//    margin while a wrong formula (a swapped RoPE pair, a missing λ term) errs by 1e-2 or more.
//  - gradients: |a − b| ≤ 1e-5·max|b| + 1e-4·|b| per tensor; backward sums over B·T = 24 rows of
//    products of forward values, each already carrying ~1e-6 relative error.
//  - 10 AdamW steps with clipping: the update divides m by √v, amplifying tiny gradient
//    differences for parameters whose v is near 0; losses agree to 1e-4 relative and parameters to
//    1e-4 absolute after 10 steps of lr 1e-2 (a wrong bias correction or decay group errs by ≥ 1e-3).
#include <filesystem>

#include "core/safetensors.h"
#include "models/checkpoint.h"
#include "optim/optim.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;

static std::string fixture_path(const std::string& name) {
  return std::string(DIFFT_SOURCE_DIR) + "/tests/fixtures/" + name + ".safetensors";
}

static const Tensor& need(const SafetensorsFile& f, const std::string& name) {
  const Tensor* t = f.find(name);
  REQUIRE_MESSAGE(t != nullptr, "fixture lacks " << name);
  return *t;
}

// Largest |a − b| / (1 + |b|) seen, reported so the margin to each tolerance is visible.
static double max_rel_err(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]) / (1.0 + std::abs(y[i])));
  return m;
}
static double g_worst_grad = 0;  // max over tensors of max|a − b| / max|b|

static void check_grad_close(const Tensor& a, const Tensor& b, const std::string& what) {
  INFO(what);
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  REQUIRE(x.size() == y.size());
  double scale = 0, worst = 0;
  for (double v : y) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  if (scale > 0) g_worst_grad = std::max(g_worst_grad, worst / scale);
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " vs " << y[i] << " (max |torch| " << scale << ")");
    REQUIRE(std::abs(x[i] - y[i]) <= 1e-5 * scale + 1e-4 * std::abs(y[i]));
  }
}

TEST_CASE("models match the PyTorch reference: logits, loss, gradients, 10 AdamW steps") {
  for (const std::string name : {"diff_mha", "diff_gqa", "standard_mha", "standard_gqa"}) {
    CAPTURE(name);
    const SafetensorsFile f = load_safetensors(fixture_path(name));
    const models::ModelConfig cfg = models::config_from_metadata(f.metadata, name);
    auto model = models::make_model(cfg);
    nn::NamedTensors params;
    for (auto& [n, p] : model->named_parameters()) params.emplace_back(n, need(f, "param." + n));
    model->load_state_dict(params);

    const Tensor& tokens = need(f, "tokens");
    const Tensor& targets = need(f, "targets");
    const Tensor logits = model->forward(tokens);
    check_close(logits, need(f, "logits"), 2e-5, 2e-5);
    const Tensor loss = cross_entropy(logits, targets);
    check_close(loss, need(f, "loss"), 2e-5, 2e-5);
    loss.backward();
    g_worst_grad = 0;
    for (auto& [n, p] : model->named_parameters()) check_grad_close(p.grad(), need(f, "grad." + n), "grad." + n);
    MESSAGE(name << ": max |logit err|/(1+|logit|) " << max_rel_err(logits, need(f, "logits")) << ", loss err "
                  << max_rel_err(loss, need(f, "loss")) << ", max grad err / max|grad| " << g_worst_grad);

    // AdamW as torch: decay on matrices only, clip to 1.0, the same batch ten times.
    auto md = [&](const char* k) { return std::stod(f.metadata.at(k)); };
    optim::AdamW opt(optim::decay_groups(model->named_parameters(), md("opt_weight_decay")),
                     {.lr = md("opt_lr"), .beta1 = md("opt_beta1"), .beta2 = md("opt_beta2"), .eps = md("opt_eps"),
                      .weight_decay = md("opt_weight_decay")});
    const std::vector<double> want_loss = need(f, "adamw_losses").to_vector<double>();
    const std::vector<double> want_norm = need(f, "adamw_grad_norms").to_vector<double>();
    for (size_t step = 0; step < want_loss.size(); ++step) {
      CAPTURE(step);
      opt.zero_grad();
      Tensor l = model->loss(tokens, targets);
      l.backward();
      const double norm = optim::clip_grad_norm(model->parameters(), md("opt_clip"));
      opt.step();
      CHECK(l.item() == doctest::Approx(want_loss[step]).epsilon(1e-4));
      CHECK(norm == doctest::Approx(want_norm[step]).epsilon(1e-4));
    }
    double worst_param = 0;
    for (auto& [n, p] : model->named_parameters()) {
      check_close(p, need(f, "final." + n), 1e-4, 0.0);
      worst_param = std::max(worst_param, max_rel_err(p, need(f, "final." + n)));
    }
    MESSAGE(name << ": after 10 AdamW steps, max parameter err " << worst_param);
  }
}
