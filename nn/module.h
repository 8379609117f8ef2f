// module.h: the Module base class, as torch.nn.Module.
//
// A module owns named parameters and named child modules, in registration order. Names join with
// dots: a model's `layers` list registers children "0", "1", ..., so a parameter is found as
// "layers.3.attn.q_proj.weight". Parameters are ordinary leaf tensors with requires_grad set;
// the module and its user hold the same handle, so an optimizer that updates
// parameters() in place updates the module.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace difft::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  NamedTensors named_parameters() const;  // hierarchical names, registration order
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;  // total elements

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops every parameter's gradient

  // Converts every parameter in place to dtype (as torch's module.double()): the handles held by
  // the module and its users stay valid and now hold the converted values; gradients are dropped.
  void to(DType dtype);

  // Copies of nothing: the returned tensors share the parameters' storage (as torch).
  NamedTensors state_dict() const;
  // Copies values into the parameters (converting dtype). Throws one difft::Error listing every
  // missing, unexpected and mis-shaped entry by name when any exists; changes nothing then.
  void load_state_dict(const NamedTensors& state);

 protected:
  // Registers a parameter (made a leaf that requires grad); returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void collect(const std::string& prefix, NamedTensors& out) const;

  NamedTensors params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// An indexed list of children, registered as "0", "1", ... (torch.nn.ModuleList).
template <class M>
class ModuleList : public Module {
 public:
  void append(std::shared_ptr<M> m) { items_.push_back(register_module(std::to_string(items_.size()), std::move(m))); }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_.at(i); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace difft::nn
