// softmax.cpp: softmax and log_softmax over any dim.
//
//   x (..., C, ...), softmax dim d of size C; every slice along d is one row.
//   softmax      y = e^(x - max) / Σ_d e^(x - max)        gx = y ⊙ (gy - Σ_d gy ⊙ y)
//   log_softmax  y = (x - max) - log Σ_d e^(x - max)      gx = gy - e^y ⊙ Σ_d gy
// Both backwards need only the output y, so y is saved instead of x. One fused kernel each way.
//
// The kernels work on contiguous (N, C) rows. When d is not the last dim (or x is a strided view)
// the op moves d last with transpose + contiguous, runs the kernel, and moves the result back;
// the output is always contiguous in x's dim order, like PyTorch's. Those copies are internal and
// not recorded: the op records one node whose backward does the same moves.
//
// Rows with -inf entries (masks) give exact zeros there; a row of all -inf gives NaN, as PyTorch
// does (see core/cpu/softmax.cpp).
#include <utility>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

namespace {

// x with dim d moved last, as contiguous (N, C) rows. x.numel() > 0.
Tensor to_rows(const Tensor& x, int64_t d) {
  const int64_t last = x.dim() - 1, c = x.size(d);
  const Tensor moved = d == last ? x : x.transpose(d, last);
  return moved.contiguous().view({x.numel() / c, c});
}

// The inverse of to_rows: (N, C) rows back to `shape` (rows along dim d), contiguous.
Tensor from_rows(const Tensor& rows, const Shape& shape, int64_t d) {
  const int64_t last = int64_t(shape.size()) - 1;
  if (d == last) return rows.view(shape);
  Shape moved = shape;
  std::swap(moved[size_t(d)], moved[size_t(last)]);
  return rows.view(moved).transpose(d, last).contiguous();
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  check_floating(name, x);
  const int64_t d = normalize_dim(dim, x.dim(), name);
  if (x.dim() == 0) return softmax_impl(x.reshape({1}), 0, log).reshape({});  // one-element row
  Tensor y;
  {
    NoGradGuard no_grad;  // the moves are internal; this op records its own node below
    if (x.numel() == 0) {
      y = empty(x.shape(), {x.dtype(), x.device()});
    } else {
      const Tensor xr = to_rows(x, d);
      Tensor yr = empty(xr.shape(), {x.dtype(), x.device()});
      DIFFT_KERNEL(x.device(), softmax_forward, name)(xr, yr, log);
      y = from_rows(yr, x.shape(), d);
    }
  }
  SavedTensor saved_y = y;
  return record(name, y, {x}, [saved_y, d, log, name](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& yy = saved_y.get();
    if (yy.numel() == 0) return {zeros(yy.shape(), {g.dtype(), g.device()})};
    const Tensor yr = to_rows(yy, d), gr = to_rows(g, d);  // g may be strided (e.g. expanded)
    Tensor gxr = empty(yr.shape(), {g.dtype(), g.device()});
    DIFFT_KERNEL(g.device(), softmax_backward, name)(yr, gr, gxr, log);
    return {from_rows(gxr, yy.shape(), d)};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace difft
