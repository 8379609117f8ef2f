// tensor.h: the Tensor handle.
//
// A Tensor is a cheap, copyable handle (one shared_ptr) to a TensorImpl: shared storage plus
// shape, strides and offset (in elements), dtype, and autograd state. Copying a Tensor copies
// the handle, not the data, as in PyTorch. View methods (view, permute, slice, expand, ...)
// return tensors that share storage; contiguous() copies only when the layout requires it.
//
// The math lives in free functions (core/ops.h); the methods here are views, element access and
// the autograd entry points.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"

namespace difft {

struct Node;
struct TensorImpl;
class Generator;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (like a None gradient)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ---------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const;
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  uint64_t version() const;  // the storage's in-place version counter

  // Pointer to element 0 of this view. data<T>() checks that T matches dtype().
  void* raw_data() const;
  template <class T> T* data() const;

  // ---- element access (CPU tensors; for tests and small tools) -----------------------------
  double item() const;                                // a one-element tensor's value
  double at(const std::vector<int64_t>& index) const; // any dtype, returned as double
  void set(const std::vector<int64_t>& index, double value);  // bumps the version
  template <class T> std::vector<T> to_vector() const;  // row-major copy of all elements

  // ---- views (share storage; differentiable) ----------------------------------------------
  Tensor view(const Shape& shape) const;     // needs a compatible layout; one dim may be -1
  Tensor reshape(const Shape& shape) const;  // view when possible, else a copy
  Tensor flatten() const { return reshape({numel()}); }
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const { return transpose(0, 1); }  // 2-d transpose
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // python-like
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // narrow + squeeze
  Tensor expand(const Shape& shape) const;  // -1 keeps a dim; stride 0 on broadcast dims
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor contiguous() const;  // self when already contiguous, else a differentiable copy

  // ---- conversion ------------------------------------------------------------------------
  Tensor to(DType dtype) const;    // differentiable between floating dtypes
  Tensor to(Device device) const;  // differentiable
  Tensor clone() const;            // a contiguous, differentiable copy

  // ---- in-place (not recorded by autograd; each bumps the version counter) ----------------
  // Allowed on tensors autograd does not track, and on leaves inside a NoGradGuard (optimizers).
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape, converted to this dtype
  Tensor& add_(const Tensor& other, double alpha = 1.0);  // this += alpha * other
  Tensor& mul_(double value);
  // this <- f(this, uniform draws) style initialisers, seeded by an explicit generator
  Tensor& uniform_(double lo, double hi, Generator& gen);
  Tensor& normal_(double mean, double std, Generator& gen);

  // ---- autograd ----------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool value = true);  // only on leaves
  bool is_leaf() const;                       // no grad_fn
  const std::shared_ptr<Node>& grad_fn() const;
  Tensor grad() const;  // accumulated gradient of a leaf (undefined until a backward reaches it)
  void set_grad(const Tensor& g) const;
  void zero_grad() const { set_grad(Tensor()); }  // drops the gradient, like grad = None
  // Runs reverse-mode autograd from this tensor. `grad` defaults to 1 for a one-element tensor.
  // The graph is freed afterwards unless retain_graph is set.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // shares storage, no history, requires_grad false

  std::string str() const;  // printed values, shape, dtype (PyTorch-like)

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape, strides;  // in elements
  int64_t offset = 0;    // in elements
  DType dtype = DType::Float32;

  // autograd
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;        // set for results of recorded ops
  std::weak_ptr<Node> grad_accumulator;  // leaves: the node that adds into `grad`
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ---------------------------------------------------------------------------
struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
  bool requires_grad = false;
};

Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions opt = {});
Tensor scalar_tensor(double value, TensorOptions opt = {});
// From values in row-major order; shape defaults to (values.size(),).
Tensor from_vector(const std::vector<double>& values, const Shape& shape = {}, TensorOptions opt = {});
Tensor from_vector(const std::vector<float>& values, const Shape& shape = {}, TensorOptions opt = {});
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape = {}, TensorOptions opt = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions opt = {});
// Random tensors from an explicit generator (core/generator.h): the values depend only on the
// generator's seed and position, never on the number of threads.
Tensor rand(const Shape& shape, Generator& gen, TensorOptions opt = {});    // U[0, 1)
Tensor randn(const Shape& shape, Generator& gen, TensorOptions opt = {});   // N(0, 1)
Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, TensorOptions opt = {});
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, TensorOptions opt = {});
// Integers uniform in [lo, hi), int64.
Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen, TensorOptions opt = {});

// Tensor with an explicit layout over existing storage (views are built with this).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

void check_dtype_for_data(DType have, DType want);
template <class T>
T* Tensor::data() const {
  check_dtype_for_data(dtype(), dtype_of<T>());
  return static_cast<T*>(raw_data());
}

}  // namespace difft
