// tensor.cpp: metadata, factories, element access, printing and in-place updates.
// View methods and conversions are differentiable ops: they live in core/ops/view.cpp.
#include <algorithm>
#include "core/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace difft {

void check_dtype_for_data(DType have, DType want) {
  DIFFT_CHECK(have == want, "data<T>: tensor holds ", dtype_name(have), ", asked for ", dtype_name(want));
}

// ---- metadata --------------------------------------------------------------------------------
static TensorImpl& need(const std::shared_ptr<TensorImpl>& p) {
  DIFFT_CHECK(p != nullptr, "tensor: use of an undefined tensor (a default-constructed Tensor or a missing gradient)");
  return *p;
}
const Shape& Tensor::shape() const { return need(impl_).shape; }
const Shape& Tensor::strides() const { return need(impl_).strides; }
int64_t Tensor::offset() const { return need(impl_).offset; }
int64_t Tensor::dim() const { return int64_t(shape().size()); }
int64_t Tensor::size(int64_t d) const {
  // normalize_dim accepts 0 and -1 for a 0-d tensor (reductions allow it); a size does not exist.
  DIFFT_CHECK(dim() > 0, "size: dim ", d, " of a 0-d tensor (it has no dimensions)");
  return shape()[size_t(normalize_dim(d, dim(), "size"))];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return need(impl_).dtype; }
Device Tensor::device() const { return need(impl_).storage->device(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return need(impl_).storage; }
uint64_t Tensor::version() const { return storage()->version(); }
void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * int64_t(dtype_size(dtype()));
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;  // the stride of a size-1 dim does not matter
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

// ---- autograd accessors ----------------------------------------------------------------------
bool Tensor::requires_grad() const { return need(impl_).requires_grad; }
bool Tensor::is_leaf() const { return need(impl_).grad_fn == nullptr; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return need(impl_).grad_fn; }
Tensor Tensor::grad() const { return need(impl_).grad; }
void Tensor::set_grad(const Tensor& g) const {
  DIFFT_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient of shape ",
              shape_str(g.shape()), " for a tensor of shape ", shape_str(shape()));
  need(impl_).grad = g;
}
Tensor& Tensor::requires_grad_(bool value) {
  DIFFT_CHECK(is_leaf() || value, "requires_grad_: only leaves can stop requiring grad; use detach()");
  DIFFT_CHECK(!value || is_floating(dtype()), "requires_grad_: only floating tensors can require grad, got ", dtype_name(dtype()));
  need(impl_).requires_grad = value;
  return *this;
}
void Tensor::backward(const Tensor& grad, bool retain_graph) const { run_backward(*this, grad, retain_graph); }
Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

// ---- factories -------------------------------------------------------------------------------
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor empty(const Shape& shape, TensorOptions opt) {
  for (int64_t d : shape) DIFFT_CHECK(d >= 0, "empty: negative dimension in shape ", shape_str(shape));
  DIFFT_CHECK(opt.dtype != DType::BFloat16 || !opt.device.is_cpu(), "empty: bfloat16 is only supported on cuda");
  auto impl = std::make_shared<TensorImpl>();
  const int64_t n = shape_numel(shape);
  impl->storage = std::make_shared<Storage>(size_t(n) * dtype_size(opt.dtype), opt.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opt.dtype;
  Tensor t(std::move(impl));
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions opt) {
  const bool rg = opt.requires_grad;
  opt.requires_grad = false;
  Tensor t = empty(shape, opt);
  DIFFT_KERNEL(t.device(), fill, "full")(t, value);
  if (rg) t.requires_grad_();
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor scalar_tensor(double value, TensorOptions opt) { return full({}, value, opt); }

// Builds on the CPU from host values, then moves to opt.device.
template <class V>
static Tensor from_host(const std::vector<V>& values, const Shape& shape_in, TensorOptions opt) {
  const Shape shape = shape_in.empty() && values.size() != 1 ? Shape{int64_t(values.size())} : shape_in;
  DIFFT_CHECK(shape_numel(shape) == int64_t(values.size()), "from_vector: ", values.size(),
              " values do not fill shape ", shape_str(shape));
  Tensor host = empty(shape, {opt.dtype, Device::cpu(), false});
  const int64_t n = int64_t(values.size());
  switch (opt.dtype) {
    case DType::Float32: for (int64_t i = 0; i < n; ++i) host.data<float>()[i] = float(values[i]); break;
    case DType::Float64: for (int64_t i = 0; i < n; ++i) host.data<double>()[i] = double(values[i]); break;
    case DType::Int64: for (int64_t i = 0; i < n; ++i) host.data<int64_t>()[i] = int64_t(values[i]); break;
    default: throw Error(std::string("from_vector: unsupported dtype ") + dtype_name(opt.dtype));
  }
  Tensor t = opt.device.is_cpu() ? host : host.to(opt.device);
  if (opt.requires_grad) t.requires_grad_();
  return t;
}
Tensor from_vector(const std::vector<double>& v, const Shape& s, TensorOptions o) { return from_host(v, s, o); }
Tensor from_vector(const std::vector<float>& v, const Shape& s, TensorOptions o) { return from_host(v, s, o); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, TensorOptions o) { return from_host(v, s, o); }
Tensor tensor(std::initializer_list<double> values, TensorOptions opt) {
  return from_host(std::vector<double>(values), {int64_t(values.size())}, opt);
}

Tensor arange(double start, double end, double step, TensorOptions opt) {
  DIFFT_CHECK(step != 0 && std::isfinite(start) && std::isfinite(end), "arange: need finite bounds and a nonzero step");
  const int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + double(i) * step;
  return from_host(v, {n}, opt);
}

// Fills a CPU tensor in parallel with f(seed, counter) for counters base..base+n-1.
template <class F>
static Tensor random_fill(const Shape& shape, Generator& gen, TensorOptions opt, F f) {
  Tensor host = empty(shape, {opt.dtype, Device::cpu(), false});
  const int64_t n = host.numel();
  const uint64_t seed = gen.seed(), base = gen.reserve(uint64_t(n));
  auto run = [&](auto* p) {
    parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) p[i] = static_cast<std::remove_reference_t<decltype(*p)>>(f(seed, base + uint64_t(i)));
    });
  };
  switch (opt.dtype) {
    case DType::Float32: run(host.data<float>()); break;
    case DType::Float64: run(host.data<double>()); break;
    case DType::Int64: run(host.data<int64_t>()); break;
    default: throw Error(std::string("random: unsupported dtype ") + dtype_name(opt.dtype));
  }
  Tensor t = opt.device.is_cpu() ? host : host.to(opt.device);
  if (opt.requires_grad) t.requires_grad_();
  return t;
}

// The largest value of dtype t below hi. lo + (hi - lo) * u with u < 1 can still round up to hi
// (in double, and far more often when cast to float32: u > 1 - 2^-25 gives 1.0f), so uniform
// clamps to this to keep its range half-open.
static double largest_below(double hi, DType t) {
  if (t != DType::Float32) return std::nextafter(hi, -INFINITY);
  float f = float(hi);
  if (double(f) >= hi) f = std::nextafter(f, -INFINITY);
  return double(f);
}

Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, TensorOptions opt) {
  DIFFT_CHECK(lo <= hi, "uniform: lo ", lo, " > hi ", hi);
  const double top = lo < hi ? std::max(lo, largest_below(hi, opt.dtype)) : hi;
  return random_fill(shape, gen, opt, [=](uint64_t s, uint64_t c) {
    return std::min(lo + (hi - lo) * Generator::uniform(s, c), top);
  });
}
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, TensorOptions opt) {
  DIFFT_CHECK(std >= 0, "normal: negative std ", std);
  return random_fill(shape, gen, opt, [=](uint64_t s, uint64_t c) { return mean + std * Generator::normal(s, c); });
}
Tensor rand(const Shape& shape, Generator& gen, TensorOptions opt) { return uniform(shape, 0.0, 1.0, gen, opt); }
Tensor randn(const Shape& shape, Generator& gen, TensorOptions opt) { return normal(shape, 0.0, 1.0, gen, opt); }
Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen, TensorOptions opt) {
  DIFFT_CHECK(lo < hi, "randint: empty range [", lo, ", ", hi, ")");
  opt.dtype = DType::Int64;
  const double span = double(hi - lo);
  return random_fill(shape, gen, opt, [=](uint64_t s, uint64_t c) {
    return double(lo + std::min(int64_t(Generator::uniform(s, c) * span), hi - lo - 1));
  });
}

// ---- element access --------------------------------------------------------------------------
static int64_t element_offset(const Tensor& t, const std::vector<int64_t>& index, const char* op) {
  DIFFT_CHECK(int64_t(index.size()) == t.dim(), op, ": index of ", index.size(), " dims for a tensor of shape ", shape_str(t.shape()));
  int64_t off = t.offset();
  for (size_t i = 0; i < index.size(); ++i) {
    DIFFT_CHECK(index[i] >= 0 && index[i] < t.shape()[i], op, ": index ", index[i], " out of range for dim ", i, " of shape ", shape_str(t.shape()));
    off += index[i] * t.strides()[i];
  }
  return off;
}

static double read_at(const Tensor& t, int64_t off) {
  const void* base = t.storage()->data();
  switch (t.dtype()) {
    case DType::Float32: return static_cast<const float*>(base)[off];
    case DType::Float64: return static_cast<const double*>(base)[off];
    case DType::Int64: return double(static_cast<const int64_t*>(base)[off]);
    default: throw Error(std::string("at: cannot read ") + dtype_name(t.dtype()) + " on the cpu");
  }
}

double Tensor::at(const std::vector<int64_t>& index) const {
  if (!device().is_cpu()) return to(Device::cpu()).at(index);
  return read_at(*this, element_offset(*this, index, "at"));
}

double Tensor::item() const {
  DIFFT_CHECK(numel() == 1, "item: needs a one-element tensor, got shape ", shape_str(shape()));
  return at(std::vector<int64_t>(size_t(dim()), 0));
}

void Tensor::set(const std::vector<int64_t>& index, double value) {
  DIFFT_CHECK(device().is_cpu(), "set: only for cpu tensors");
  const int64_t off = element_offset(*this, index, "set");
  void* base = storage()->data();
  switch (dtype()) {
    case DType::Float32: static_cast<float*>(base)[off] = float(value); break;
    case DType::Float64: static_cast<double*>(base)[off] = value; break;
    case DType::Int64: static_cast<int64_t*>(base)[off] = int64_t(value); break;
    default: throw Error("set: unsupported dtype");
  }
  storage()->bump_version();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

// ---- in-place --------------------------------------------------------------------------------
static void check_inplace(const Tensor& t, const char* op) {
  DIFFT_CHECK(!grad_enabled() || !t.requires_grad(), op,
              ": in-place change of a tensor that requires grad (shape ", shape_str(t.shape()),
              "); autograd does not record in-place ops: do it inside a NoGradGuard, or use the out-of-place op");
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  DIFFT_KERNEL(device(), fill, "fill_")(*this, value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  Tensor s = src.dim() == dim() && src.shape() == shape() ? src : src.expand(shape());
  const Device dev = device().is_cpu() ? s.device() : device();  // the backend that moves data
  DIFFT_KERNEL(dev, copy, "copy_")(s, *this);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  NoGradGuard g;
  Tensor o = alpha == 1.0 ? other : mul(other, alpha);
  if (o.dtype() != dtype()) o = o.to(dtype());
  Tensor ob = o.expand(shape());
  if (is_contiguous()) {
    DIFFT_KERNEL(device(), binary, "add_")(BinaryOp::Add, *this, ob, *this);  // same index in and out
    storage()->bump_version();
  } else {
    copy_(add(*this, ob));
  }
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_inplace(*this, "mul_");
  if (is_contiguous()) {
    DIFFT_KERNEL(device(), unary, "mul_")(UnaryOp::MulScalar, value, *this, *this);
    storage()->bump_version();
  } else {
    NoGradGuard g;
    copy_(mul(*this, value));
  }
  return *this;
}

Tensor& Tensor::uniform_(double lo, double hi, Generator& gen) {
  return copy_(uniform(shape(), lo, hi, gen, {dtype(), Device::cpu()}));
}
Tensor& Tensor::normal_(double mean, double std, Generator& gen) {
  return copy_(normal(shape(), mean, std, gen, {dtype(), Device::cpu()}));
}

// ---- printing --------------------------------------------------------------------------------
static void print_rec(std::ostream& os, const Tensor& t, int64_t d, int64_t off, int indent, bool summarize) {
  if (d == t.dim()) {
    const double v = read_at(t, off);
    if (t.dtype() == DType::Int64) os << int64_t(v);
    else os << std::setprecision(4) << std::fixed << v;
    return;
  }
  os << "[";
  const int64_t n = t.shape()[d];
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 6 && i == 3) {
      os << "...";
      i = n - 3;
      os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
    }
    print_rec(os, t, d + 1, off + i * t.strides()[d], indent + 1, summarize);
    if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
  }
  os << "]";
}

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  Tensor c = device().is_cpu() ? *this : to(Device::cpu());
  os << "tensor(";
  print_rec(os, c, 0, c.offset(), 7, c.numel() > 1000);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device=" << device().str();
  if (requires_grad()) os << (grad_fn() ? ", grad_fn=" : ", requires_grad=true");
  if (grad_fn()) os << "<" << grad_fn()->name << ">";
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace difft
