#include "nn/module.h"

#include <map>
#include <sstream>

#include "core/autograd.h"
#include "core/error.h"

namespace difft::nn {

static void check_name(const std::string& name, const char* what) {
  DIFFT_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module: invalid ", what, " name '", name,
              "' (must be non-empty and contain no '.')");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name(name, "parameter");
  for (const auto& [n, t] : params_) DIFFT_CHECK(n != name, "Module: parameter '", name, "' registered twice");
  DIFFT_CHECK(value.defined() && value.is_leaf(), "Module: parameter '", name, "' must be a defined leaf tensor");
  value.requires_grad_(true);
  params_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "module");
  DIFFT_CHECK(m != nullptr, "Module: child '", name, "' is null");
  for (const auto& [n, c] : children_) DIFFT_CHECK(n != name, "Module: child '", name, "' registered twice");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (const Tensor& t : parameters()) t.zero_grad();
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (auto& [n, p] : named_parameters()) {
    if (p.dtype() == dtype) continue;
    const Tensor converted = p.to(dtype).contiguous();
    TensorImpl* impl = p.impl();  // swap the storage under the shared handle
    impl->storage = converted.storage();
    impl->dtype = dtype;
    impl->strides = converted.strides();
    impl->offset = converted.offset();
    impl->grad = Tensor();
  }
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (auto& [n, t] : named_parameters()) out.emplace_back(n, t.detach());
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  const NamedTensors mine = named_parameters();
  std::map<std::string, Tensor> given;
  std::vector<std::string> unexpected, missing, misshaped;
  for (const auto& [n, t] : state) given[n] = t;
  std::map<std::string, bool> known;
  for (const auto& [n, t] : mine) {
    known[n] = true;
    auto it = given.find(n);
    if (it == given.end()) missing.push_back(n);
    else if (it->second.shape() != t.shape())
      misshaped.push_back(n + " (checkpoint " + shape_str(it->second.shape()) + ", model " + shape_str(t.shape()) + ")");
  }
  for (const auto& [n, t] : state)
    if (!known.count(n)) unexpected.push_back(n);
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::ostringstream os;
    os << "load_state_dict: state does not match the model:";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << " " << what << " [";
      for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
      os << "];";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("wrong shape", misshaped);
    throw Error(os.str());
  }
  NoGradGuard no_grad;
  for (auto& [n, t] : mine) {
    Tensor dst = t;
    dst.copy_(given[n]);
  }
}

}  // namespace difft::nn
