// optim.h: optimizers, gradient clipping and learning-rate schedules. Depends on core only.
//
// Semantics follow torch.optim (tests/test_optim.cpp compares step by step with a plain
// double-precision loop of torch's algorithm), with one difference: t is the optimizer's step
// count, shared by all parameters, where torch counts per parameter. They differ only for a
// parameter that had no gradient at some step (skipped, as in torch), which an LM never has.
//   AdamW (decoupled weight decay, Loshchilov & Hutter):
//     p ← p · (1 − lr·wd)
//     m ← β1 m + (1 − β1) g          v ← β2 v + (1 − β2) g²
//     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
//   SGD with momentum (dampening 0): g ← g + wd·p;  b ← μ b + g (b = g at t = 1);  p ← p − lr·b
//     (nesterov: p ← p − lr·(g + μ b))
// Each group's weight decay defaults to the options' weight_decay; decay_groups sets it
// explicitly (0 for the no-decay group).
// Gradient accumulation needs no optimizer support: backward() adds into .grad, so call it on
// each micro-batch's loss / n_micro and step once.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace difft::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  std::vector<std::string> names;  // optional, for error messages and checkpoints
  std::optional<double> weight_decay;  // unset: the optimizer's default (as torch param groups)
  double lr_scale = 1.0;  // this group's lr = optimizer lr × lr_scale
};

// The default AdamW grouping: decay matrices (dim ≥ 2: projections, embeddings), not vectors
// (norm gains, λ parameters, biases).
std::vector<ParamGroup> decay_groups(const std::vector<std::pair<std::string, Tensor>>& named, double weight_decay);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  virtual const char* kind() const = 0;  // "adamw", "sgd": checkpoints refuse another kind's state
  void zero_grad();  // drops every parameter's gradient
  double lr = 1e-3;
  std::vector<ParamGroup> groups;
  int64_t step_count() const { return t_; }

  // Training state for checkpoints: per-parameter state tensors under stable names
  // ("<group>.<index>.exp_avg", ...) and the step count.
  virtual std::vector<std::pair<std::string, Tensor>> state_tensors() const = 0;
  void set_step_count(int64_t t) { t_ = t; }

 protected:
  int64_t t_ = 0;
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions opt = {});
  void step() override;
  const char* kind() const override { return "adamw"; }
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  AdamWOptions opt;

 private:
  std::vector<std::vector<Tensor>> m_, v_;  // per group, per parameter
};

struct SGDOptions {
  double lr = 1e-2, momentum = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions opt = {});
  void step() override;
  const char* kind() const override { return "sgd"; }
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  SGDOptions opt;

 private:
  // Momentum buffers, zeros from the start when momentum > 0 (μ·0 + g = g is torch's b = g at
  // its first step, bitwise), so the set of state tensors is fixed and a checkpoint can fill them.
  std::vector<std::vector<Tensor>> buf_;
};

// Scales all gradients so that their global L2 norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_: factor max_norm / (norm + 1e-6) when norm > max_norm).
// Returns the norm before clipping. Parameters without a gradient are skipped.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
double grad_norm(const std::vector<Tensor>& params);

// Learning rate at a step (0-based).
struct LRSchedule {
  enum class Kind { Constant, WarmupCosine, WarmupLinear } kind = Kind::Constant;
  double lr = 1e-3;        // peak
  double min_lr = 0.0;     // floor reached at total_steps
  int64_t warmup_steps = 0, total_steps = 1;
  double at(int64_t step) const;
  static Kind parse(const std::string& name);  // "constant", "cosine", "linear"
};

}  // namespace difft::optim
