// view.cpp: views (share storage) and copies (contiguous, to, clone), each with its backward.
//
//   op           forward                              backward (g has the output's shape)
//   view/reshape new shape, same strides order         g.reshape(input shape)
//   permute      strides permuted                     g.permute(inverse)
//   slice        offset += start*stride, stride*=step zeros(input) with g written into the slice
//   expand       stride 0 on broadcast dims           sum_to(g, input shape)
//   squeeze/unsq drop/insert a size-1 dim             g.reshape(input shape)
//   contiguous   copy                                 g
//   to(dtype)    converting copy                      g.to(input dtype)
#include <algorithm>
#include <numeric>
#include <optional>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/ops.h"

namespace difft {

static Tensor reshape_backward_record(const char* op, const Tensor& self, Tensor out) {
  const Shape in_shape = self.shape();
  return record(op, std::move(out), {self}, [in_shape](const Tensor& g) -> std::vector<Tensor> {
    return {g.reshape(in_shape)};
  });
}

// Resolves one -1 in a requested shape.
static Shape infer_shape(const Shape& want, int64_t numel, const char* op, const Shape& have) {
  Shape s = want;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      DIFFT_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape_str(want));
      infer = int64_t(i);
    } else {
      DIFFT_CHECK(s[i] >= 0, op, ": invalid size ", s[i], " in ", shape_str(want));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    DIFFT_CHECK(known > 0 && numel % known == 0, op, ": shape ", shape_str(want), " is invalid for input of shape ", shape_str(have));
    s[size_t(infer)] = numel / known;
  }
  DIFFT_CHECK(shape_numel(s) == numel, op, ": shape ", shape_str(want), " is invalid for input of shape ", shape_str(have), " (", numel, " elements)");
  return s;
}

// Strides for viewing `t` as `shape` without copying, or nullopt if impossible. Input dims are
// grouped into chunks that are contiguous among themselves (stride[i] == stride[i+1]*size[i+1]);
// a view is possible when every chunk maps onto a run of output dims of the same element count.
static std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  if (t.numel() == 0 || t.dim() == 0) return contiguous_strides(shape);
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  Shape st(shape.size(), 1);
  int64_t out_d = int64_t(shape.size()) - 1;
  int64_t base = ost.back(), chunk_numel = 1, view_numel = 1;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    chunk_numel *= os[size_t(d)];
    const bool chunk_ends = d == 0 || (os[size_t(d - 1)] != 1 && ost[size_t(d - 1)] != chunk_numel * base);
    if (!chunk_ends) continue;
    while (out_d >= 0 && (view_numel < chunk_numel || shape[size_t(out_d)] == 1)) {
      st[size_t(out_d)] = view_numel * base;
      view_numel *= shape[size_t(out_d)];
      --out_d;
    }
    if (view_numel != chunk_numel) return std::nullopt;
    if (d > 0) base = ost[size_t(d - 1)], chunk_numel = 1, view_numel = 1;
  }
  if (out_d != -1) return std::nullopt;
  return st;
}

Tensor Tensor::view(const Shape& shape_in) const {
  const Shape s = infer_shape(shape_in, numel(), "view", shape());
  auto st = view_strides(*this, s);
  DIFFT_CHECK(st.has_value(), "view: cannot view a tensor of shape ", shape_str(shape()), " with strides ",
              shape_str(strides()), " as ", shape_str(s), " without copying; use reshape() or contiguous()");
  return reshape_backward_record("view", *this, make_view(*this, s, *st, offset()));
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  const Shape s = infer_shape(shape_in, numel(), "reshape", shape());
  if (s == shape()) return *this;
  if (auto st = view_strides(*this, s)) return reshape_backward_record("reshape", *this, make_view(*this, s, *st, offset()));
  return contiguous().view(s);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  DIFFT_CHECK(int64_t(dims.size()) == dim(), "permute: ", dims.size(), " dims given for a tensor of shape ", shape_str(shape()));
  Shape s(dims.size()), st(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_dim(dims[i], dim(), "permute");
    DIFFT_CHECK(inverse[size_t(d)] < 0, "permute: dim ", d, " repeated in the permutation");
    inverse[size_t(d)] = int64_t(i);
    s[i] = shape()[size_t(d)];
    st[i] = strides()[size_t(d)];
  }
  return record("permute", make_view(*this, s, st, offset()), {*this},
                [inverse](const Tensor& g) -> std::vector<Tensor> { return {g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = normalize_dim(d0, dim(), "transpose");
  d1 = normalize_dim(d1, dim(), "transpose");
  std::vector<int64_t> p(static_cast<size_t>(dim()));
  std::iota(p.begin(), p.end(), 0);
  if (d0 != d1) std::swap(p[size_t(d0)], p[size_t(d1)]);  // a 0-d tensor has p empty, d0 = d1 = 0
  return permute(p);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  DIFFT_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
  d = normalize_dim(d, dim(), "slice");
  DIFFT_CHECK(step >= 1, "slice: step must be >= 1, got ", step);
  const int64_t n = shape()[size_t(d)];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape(), st = strides();
  s[size_t(d)] = (end - start + step - 1) / step;
  st[size_t(d)] *= step;
  const Shape in_shape = shape();
  const DType dt = dtype();
  const Device dev = device();
  return record("slice", make_view(*this, s, st, offset() + start * strides()[size_t(d)]), {*this},
                [=](const Tensor& g) -> std::vector<Tensor> {
                  Tensor gx = zeros(in_shape, {dt, dev});
                  gx.slice(d, start, end, step).copy_(g);
                  return {gx};
                });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  DIFFT_CHECK(dim() > 0, "narrow: cannot narrow a 0-d tensor");
  d = normalize_dim(d, dim(), "narrow");
  const int64_t n = shape()[size_t(d)];
  DIFFT_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: [", start, ", ", start + length,
              ") is out of range for dim ", d, " of size ", n, " (shape ", shape_str(shape()), ")");
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  DIFFT_CHECK(dim() > 0, "select: cannot select from a 0-d tensor");
  d = normalize_dim(d, dim(), "select");
  const int64_t n = shape()[size_t(d)];
  DIFFT_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dim ", d, " of size ", n);
  if (index < 0) index += n;
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& want) const {
  DIFFT_CHECK(int64_t(want.size()) >= dim(), "expand: cannot expand ", shape_str(shape()), " to fewer dims ", shape_str(want));
  const size_t lead = want.size() - size_t(dim());
  Shape s(want.size()), st(want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (i < lead) {
      DIFFT_CHECK(want[i] >= 0, "expand: invalid size ", want[i], " in ", shape_str(want));
      s[i] = want[i], st[i] = 0;
      continue;
    }
    const int64_t have = shape()[i - lead];
    const int64_t w = want[i] == -1 ? have : want[i];
    DIFFT_CHECK(have == w || have == 1, "expand: cannot expand ", shape_str(shape()), " to ", shape_str(want),
                " (dim ", i, ": ", have, " vs ", w, ")");
    s[i] = w;
    st[i] = have == w ? strides()[i - lead] : 0;
  }
  if (s == shape()) return *this;
  const Shape in_shape = shape();
  return record("expand", make_view(*this, s, st, offset()), {*this},
                [in_shape](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, in_shape)}; });
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d, dim(), "squeeze");
  if (dim() == 0 || shape()[size_t(d)] != 1) return *this;  // as torch: squeezing a non-1 dim is a no-op
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return reshape_backward_record("squeeze", *this, make_view(*this, s, st, offset()));
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  const int64_t stride = d < dim() ? strides()[size_t(d)] * shape()[size_t(d)] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return reshape_backward_record("unsqueeze", *this, make_view(*this, s, st, offset()));
}

// A contiguous copy in dtype/device; the backward converts the gradient back.
static Tensor copy_as(const Tensor& x, DType dtype, Device device, const char* op) {
  Tensor out = empty(x.shape(), {dtype, device});
  const Device dev = device.is_cpu() ? x.device() : device;
  DIFFT_KERNEL(dev, copy, op)(x, out);
  const DType in_dtype = x.dtype();
  const Device in_device = x.device();
  if (!is_floating(dtype) || !is_floating(in_dtype)) return out;  // integer copies carry no gradient
  return record(op, out, {x}, [=](const Tensor& g) -> std::vector<Tensor> {
    return {g.dtype() == in_dtype && g.device() == in_device ? g : copy_as(g, in_dtype, in_device, op)};
  });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : copy_as(*this, dtype(), device(), "contiguous"); }
Tensor Tensor::clone() const { return copy_as(*this, dtype(), device(), "clone"); }
Tensor Tensor::to(DType t) const { return t == dtype() ? *this : copy_as(*this, t, device(), "to"); }
Tensor Tensor::to(Device d) const { return d == device() ? *this : copy_as(*this, dtype(), d, "to"); }

}  // namespace difft
