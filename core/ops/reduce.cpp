// reduce.cpp: sum, mean, amax/amin (and max = amax), argmax.
//
//   sum:  y = Σ_dims x              gx = expand(gy)
//   mean: y = Σ_dims x / n          gx = expand(gy) / n
//   amax: y = max_dims x            gx = expand(gy) * [x == y] / count([x == y])  (ties share)
#include <algorithm>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// The keepdim shape of reducing `dims` of `s` (all dims when dims is empty), and the flags.
static Shape reduced_shape(const Shape& s, const std::vector<int64_t>& dims, const char* op, std::vector<bool>& mask) {
  mask.assign(s.size(), dims.empty());
  for (int64_t d : dims) {
    const int64_t k = normalize_dim(d, int64_t(s.size()), op);
    DIFFT_CHECK(s.empty() || !mask[size_t(k)], op, ": dim ", d, " listed twice");
    if (!s.empty()) mask[size_t(k)] = true;
  }
  Shape out = s;
  for (size_t i = 0; i < s.size(); ++i)
    if (mask[i]) out[i] = 1;
  return out;
}

static Shape drop_reduced(const Shape& keep, const std::vector<bool>& mask) {
  Shape out;
  for (size_t i = 0; i < keep.size(); ++i)
    if (!mask[i]) out.push_back(keep[i]);
  return out;
}

// Runs the reduce kernel; returns the keepdim-shaped result (no autograd).
static Tensor reduce_forward(ReduceOp op, const char* name, const Tensor& x, const Shape& keep) {
  Tensor out = empty(keep, {x.dtype(), x.device()});
  DIFFT_KERNEL(x.device(), reduce, name)(op, x, out);
  return out;
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating("sum", x);
  std::vector<bool> mask;
  const Shape keep = reduced_shape(x.shape(), dims, "sum", mask);
  Tensor out = reduce_forward(ReduceOp::Sum, "sum", x, keep);
  if (!keepdim) out = out.view(drop_reduced(keep, mask));
  const Shape in_shape = x.shape();
  return record("sum", out, {x}, [in_shape, keep](const Tensor& g) -> std::vector<Tensor> {
    return {g.reshape(keep).expand(in_shape)};
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating("mean", x);
  std::vector<bool> mask;
  const Shape keep = reduced_shape(x.shape(), dims, "mean", mask);
  const int64_t n = std::max<int64_t>(1, x.numel() / std::max<int64_t>(1, shape_numel(keep)));
  return mul(sum(x, dims, keepdim), 1.0 / double(n));
}

static Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(name, x);
  DIFFT_CHECK(x.numel() > 0, name, ": reduction of an empty tensor ", shape_str(x.shape()), " has no identity");
  std::vector<bool> mask;
  const Shape keep = reduced_shape(x.shape(), dims, name, mask);
  Tensor out = reduce_forward(op, name, x, keep);
  SavedTensor sx = x, sy = out;
  if (!keepdim) out = out.view(drop_reduced(keep, mask));
  return record(name, out, {x}, [sx, sy, keep, dims](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& xx = sx.get();
    const Tensor hit = eq(xx, sy.get().expand(xx.shape()));
    const Tensor count = sum(hit, dims, /*keepdim=*/true);
    return {mul(hit, div(g.reshape(keep), count).expand(xx.shape()))};
  });
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return extreme(ReduceOp::Max, "amax", x, dims, keepdim); }
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return extreme(ReduceOp::Max, "max", x, dims, keepdim); }
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return extreme(ReduceOp::Min, "amin", x, dims, keepdim); }

// argmax has no gradient and is rarely hot (sampling): computed on the host, first maximum wins.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  check_floating("argmax", x);
  dim = normalize_dim(dim, x.dim(), "argmax");
  const int64_t n = x.dim() == 0 ? 1 : x.size(dim);
  DIFFT_CHECK(n > 0, "argmax: empty dim ", dim, " in ", shape_str(x.shape()));
  NoGradGuard no_grad;
  Tensor moved = (x.dim() == 0 ? x.reshape({1}) : x.transpose(dim, -1)).to(Device::cpu()).to(DType::Float64).contiguous();
  const int64_t rows = moved.numel() / n;
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  const double* p = moved.data<double>();
  for (int64_t r = 0; r < rows; ++r) idx[size_t(r)] = std::max_element(p + r * n, p + (r + 1) * n) - (p + r * n);
  Shape s = x.shape();
  if (x.dim() > 0) {
    if (keepdim) s[size_t(dim)] = 1;
    else s.erase(s.begin() + dim);
  }
  // `moved` has dim last; removing it leaves the other dims in their order except dim swapped
  // with the last one, so build in that order and transpose back.
  Shape ms = moved.shape();
  ms.back() = 1;
  Tensor r = from_vector(idx, ms, {DType::Int64});
  if (x.dim() > 0) r = r.transpose(dim, -1).contiguous();
  return r.reshape(s).to(x.device());
}

}  // namespace difft
