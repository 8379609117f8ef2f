#include "optim/state.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/autograd.h"
#include "core/error.h"

namespace difft::optim {

static const std::string kPrefix = "optim.";

static std::string exact(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// The hyperparameters of the optimizers this file knows; another Optimizer subclass saves only
// its kind, step and lr.
static void put_hyperparameters(const Optimizer& opt, Metadata& md) {
  if (const auto* a = dynamic_cast<const AdamW*>(&opt)) {
    md[kPrefix + "beta1"] = exact(a->opt.beta1);
    md[kPrefix + "beta2"] = exact(a->opt.beta2);
    md[kPrefix + "eps"] = exact(a->opt.eps);
    md[kPrefix + "weight_decay"] = exact(a->opt.weight_decay);
  } else if (const auto* s = dynamic_cast<const SGD*>(&opt)) {
    md[kPrefix + "momentum"] = exact(s->opt.momentum);
    md[kPrefix + "weight_decay"] = exact(s->opt.weight_decay);
    md[kPrefix + "nesterov"] = s->opt.nesterov ? "true" : "false";
  }
}

void save_train_state(const std::string& path, const Optimizer& opt, const Metadata& extra) {
  Metadata md;
  for (const auto& [k, v] : extra) {
    DIFFT_CHECK(k.rfind(kPrefix, 0) != 0, "save_train_state: extra metadata key '", k, "' uses the reserved prefix '", kPrefix, "'");
    md[k] = v;
  }
  md[kPrefix + "kind"] = opt.kind();
  md[kPrefix + "step"] = std::to_string(opt.step_count());
  md[kPrefix + "lr"] = exact(opt.lr);
  put_hyperparameters(opt, md);
  save_safetensors(path, opt.state_tensors(), md);
}

static std::string list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// Every state tensor of the optimizer must be in the file with its shape and dtype, and nothing else.
static void check_matches(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& mine,
                          const SafetensorsFile& file, const std::map<std::string, const Tensor*>& given) {
  std::vector<std::string> missing, unexpected, wrong;
  std::map<std::string, bool> known;
  for (const auto& [n, t] : mine) {
    known[n] = true;
    auto it = given.find(n);
    if (it == given.end()) missing.push_back(n);
    else if (it->second->shape() != t.shape() || it->second->dtype() != t.dtype())
      wrong.push_back(n + " (file " + dtype_name(it->second->dtype()) + " " + shape_str(it->second->shape()) + ", optimizer " +
                      dtype_name(t.dtype()) + " " + shape_str(t.shape()) + ")");
  }
  for (const auto& [n, t] : file.tensors)
    if (!known.count(n)) unexpected.push_back(n);
  if (missing.empty() && unexpected.empty() && wrong.empty()) return;
  std::ostringstream os;
  os << "load_train_state: '" << path << "' does not match the optimizer's parameters:";
  if (!missing.empty()) os << " missing [" << list(missing) << "];";
  if (!unexpected.empty()) os << " unexpected [" << list(unexpected) << "];";
  if (!wrong.empty()) os << " wrong shape or dtype [" << list(wrong) << "];";
  throw Error(os.str());
}

static int64_t parse_step(const std::string& path, const std::string& s) {
  int64_t t = -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), t);
  DIFFT_CHECK(ec == std::errc() && end == s.data() + s.size() && t >= 0, "load_train_state: '", path, "' has an invalid ",
              kPrefix, "step '", s, "'");
  return t;
}

Metadata load_train_state(const std::string& path, Optimizer& opt) {
  const SafetensorsFile file = load_safetensors(path);
  const Metadata& md = file.metadata;
  auto kind = md.find(kPrefix + "kind");
  auto step = md.find(kPrefix + "step");
  DIFFT_CHECK(kind != md.end() && step != md.end(), "load_train_state: '", path, "' is not a training-state file (no ", kPrefix,
              "kind / ", kPrefix, "step metadata)");
  DIFFT_CHECK(kind->second == opt.kind(), "load_train_state: '", path, "' holds ", kind->second, " state, but the optimizer is ",
              opt.kind());
  const int64_t t = parse_step(path, step->second);
  const auto mine = opt.state_tensors();
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, x] : file.tensors) given[n] = &x;
  check_matches(path, mine, file, given);

  NoGradGuard no_grad;
  for (const auto& [n, x] : mine) {
    Tensor dst = x;
    dst.copy_(*given.at(n));
  }
  opt.set_step_count(t);
  return md;
}

}  // namespace difft::optim
