#include "optim/optim.h"

#include <cmath>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/ops.h"

namespace difft::optim {

std::vector<ParamGroup> decay_groups(const std::vector<std::pair<std::string, Tensor>>& named, double weight_decay) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (const auto& [name, p] : named) {
    ParamGroup& g = p.dim() >= 2 ? decay : no_decay;
    g.params.push_back(p);
    g.names.push_back(name);
  }
  return {decay, no_decay};
}

void Optimizer::zero_grad() {
  for (auto& g : groups)
    for (auto& p : g.params) p.zero_grad();
}

static std::string param_name(const ParamGroup& g, size_t i, size_t gi) {
  return i < g.names.size() ? g.names[i] : std::to_string(gi) + "." + std::to_string(i);
}

static void check_param(const Tensor& p, const std::string& name, const char* who) {
  DIFFT_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), who, ": parameter ", name, " must be a leaf that requires grad");
  DIFFT_CHECK(p.is_contiguous(), who, ": parameter ", name, " ", shape_str(p.shape()), " must be contiguous");
}

static void check_group(const ParamGroup& g, size_t gi, const char* who) {
  DIFFT_CHECK(g.weight_decay.value_or(0.0) >= 0 && g.lr_scale >= 0, who, ": group ", gi, " has invalid weight_decay ",
              g.weight_decay.value_or(0.0), " or lr_scale ", g.lr_scale);
}

static void check_grad(const Tensor& p, const std::string& name, const char* who) {
  const Tensor g = p.grad();
  DIFFT_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(), who, ": gradient of ", name,
              " is ", dtype_name(g.dtype()), " ", shape_str(g.shape()), " for a ", dtype_name(p.dtype()), " parameter ",
              shape_str(p.shape()));
}

AdamW::AdamW(std::vector<ParamGroup> gs, AdamWOptions o) : opt(o) {
  DIFFT_CHECK(o.lr >= 0 && o.eps > 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.weight_decay >= 0,
              "AdamW: invalid hyperparameters (lr ", o.lr, ", betas ", o.beta1, "/", o.beta2, ", eps ", o.eps, ", wd ", o.weight_decay, ")");
  lr = o.lr;
  groups = std::move(gs);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    check_group(groups[gi], gi, "AdamW");
    m_.emplace_back();
    v_.emplace_back();
    for (size_t i = 0; i < groups[gi].params.size(); ++i) {
      const Tensor& p = groups[gi].params[i];
      check_param(p, param_name(groups[gi], i, gi), "AdamW");
      m_.back().push_back(zeros(p.shape(), {p.dtype(), p.device()}));
      v_.back().push_back(zeros(p.shape(), {p.dtype(), p.device()}));
    }
  }
}

void AdamW::step() {
  ++t_;
  const double bc1 = 1.0 - std::pow(opt.beta1, double(t_)), bc2 = 1.0 - std::pow(opt.beta2, double(t_));
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const ParamGroup& g = groups[gi];
    const double glr = lr * g.lr_scale;
    for (size_t i = 0; i < g.params.size(); ++i) {
      const Tensor& p = g.params[i];
      if (!p.grad().defined()) continue;
      check_grad(p, param_name(g, i, gi), "AdamW");
      DIFFT_KERNEL(p.device(), adamw_update, "AdamW")(p, p.grad().contiguous(), m_[gi][i], v_[gi][i], glr, opt.beta1, opt.beta2,
                                                      opt.eps, g.weight_decay.value_or(opt.weight_decay), bc1, bc2);
      p.storage()->bump_version();
    }
  }
}

std::vector<std::pair<std::string, Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (size_t i = 0; i < groups[gi].params.size(); ++i) {
      const std::string n = param_name(groups[gi], i, gi);
      out.emplace_back(n + ".exp_avg", m_[gi][i]);
      out.emplace_back(n + ".exp_avg_sq", v_[gi][i]);
    }
  return out;
}

SGD::SGD(std::vector<ParamGroup> gs, SGDOptions o) : opt(o) {
  DIFFT_CHECK(o.lr >= 0 && o.momentum >= 0 && o.weight_decay >= 0 && (!o.nesterov || o.momentum > 0),
              "SGD: invalid hyperparameters (lr ", o.lr, ", momentum ", o.momentum, ", wd ", o.weight_decay, ")");
  lr = o.lr;
  groups = std::move(gs);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    check_group(groups[gi], gi, "SGD");
    buf_.emplace_back();
    for (size_t i = 0; i < groups[gi].params.size(); ++i) {
      const Tensor& p = groups[gi].params[i];
      check_param(p, param_name(groups[gi], i, gi), "SGD");
      buf_.back().push_back(o.momentum != 0.0 ? zeros(p.shape(), {p.dtype(), p.device()}) : Tensor());
    }
  }
}

void SGD::step() {
  ++t_;
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const ParamGroup& g = groups[gi];
    const double wd = g.weight_decay.value_or(opt.weight_decay), glr = lr * g.lr_scale;
    for (size_t i = 0; i < g.params.size(); ++i) {
      Tensor p = g.params[i];
      if (!p.grad().defined()) continue;
      check_grad(p, param_name(g, i, gi), "SGD");
      Tensor d = wd != 0.0 ? add(p.grad(), mul(p, wd)) : p.grad();
      if (opt.momentum != 0.0) {
        Tensor& b = buf_[gi][i];
        b.mul_(opt.momentum).add_(d);
        d = opt.nesterov ? add(d, mul(b, opt.momentum)) : b;
      }
      p.add_(d, -glr);
    }
  }
}

std::vector<std::pair<std::string, Tensor>> SGD::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (size_t i = 0; i < groups[gi].params.size(); ++i)
      if (buf_[gi][i].defined()) out.emplace_back(param_name(groups[gi], i, gi) + ".momentum_buffer", buf_[gi][i]);
  return out;
}

double grad_norm(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  double sq = 0.0;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor g64 = g.to(DType::Float64);
    sq += sum(mul(g64, g64)).item();  // float64 so the norm of millions of float32 terms is exact enough
  }
  return std::sqrt(sq);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  DIFFT_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = grad_norm(params);
  const double factor = max_norm / (norm + 1e-6);
  if (factor < 1.0) {
    NoGradGuard no_grad;
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(factor);
    }
  }
  return norm;
}

double LRSchedule::at(int64_t step) const {
  if (kind == Kind::Constant) return lr;
  if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
  const int64_t decay = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::min(1.0, double(step - warmup_steps) / double(decay));
  const double shape = kind == Kind::WarmupCosine ? 0.5 * (1.0 + std::cos(M_PI * progress)) : 1.0 - progress;
  return min_lr + (lr - min_lr) * shape;
}

LRSchedule::Kind LRSchedule::parse(const std::string& name) {
  if (name == "constant") return Kind::Constant;
  if (name == "cosine") return Kind::WarmupCosine;
  if (name == "linear") return Kind::WarmupLinear;
  throw Error("lr schedule: unknown '" + name + "' (expected constant, cosine or linear)");
}

}  // namespace difft::optim
