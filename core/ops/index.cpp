// index.cpp: embedding lookup, where / masked_fill, and joining / splitting along a dim.
//
//   embedding  weight (V, C), idx (*S) int64      out (*S, C): out[s] = weight[idx[s]]
//              backward: gweight = zeros(V, C); gweight[idx[s]] += g[s] (scatter-add); idx: none
//   where      cond, a, b broadcast to S          out = cond != 0 ? a : b
//              backward: ga = sum_to(where(cond, g, 0), a), gb = sum_to(where(cond, 0, g), b)
//   masked_fill x (S), mask broadcastable to S    out = mask != 0 ? value : x; backward: g where mask == 0
//   cat        xs[i] (..., n_i, ...) along dim    out (..., Σ n_i, ...); backward: g.narrow per input
//   stack      xs[i] all of shape S               cat(unsqueeze(xs[i], dim), dim)
//   split/chunk views made with narrow, so their backward is narrow's (zeros + the piece's g)
#include <algorithm>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// ---- embedding -------------------------------------------------------------------------------

// Every index must address a row of weight. Checked on the host because an out-of-range id
// would read (forward) or write (backward) outside the table; for a device tensor this costs a
// copy of the ids, which are small next to the activations.
static void check_indices(const Tensor& idx, int64_t V) {
  const Tensor host = idx.to(Device::cpu()).contiguous();
  const int64_t* p = host.data<int64_t>();
  for (int64_t i = 0; i < host.numel(); ++i)
    DIFFT_CHECK(p[i] >= 0 && p[i] < V, "embedding: index ", p[i], " out of range for a table of ", V,
                " rows (expected 0 to ", V - 1, "; idx shape ", shape_str(idx.shape()), ")");
}

Tensor embedding(const Tensor& weight, const Tensor& idx) {
  check_floating("embedding", weight);
  DIFFT_CHECK(idx.defined(), "embedding: undefined idx");
  DIFFT_CHECK(weight.dim() == 2, "embedding: weight must be 2-d (V, C), got ", shape_str(weight.shape()));
  DIFFT_CHECK(idx.dtype() == DType::Int64, "embedding: idx must be int64, got ", dtype_name(idx.dtype()), " ",
              shape_str(idx.shape()), " (convert with .to(DType::Int64))");
  DIFFT_CHECK(weight.device() == idx.device(), "embedding: device mismatch: weight on ", weight.device().str(),
              ", idx on ", idx.device().str());
  const int64_t V = weight.size(0), C = weight.size(1), N = idx.numel();
  check_indices(idx, V);

  Shape out_shape = idx.shape();
  out_shape.push_back(C);
  Tensor out = empty(out_shape, {weight.dtype(), weight.device()});
  const Tensor ids = idx.contiguous().reshape({N});  // int64: no graph either way
  {
    NoGradGuard no_grad;  // the contiguous weight and the (N, C) view are internal
    DIFFT_KERNEL(weight.device(), embedding_forward, "embedding")(weight.contiguous(), ids, out.view({N, C}));
  }
  SavedTensor sids = ids;
  const DType dt = weight.dtype();
  const Device dev = weight.device();
  return record("embedding", out, {weight, idx}, [sids, V, C, N, dt, dev](const Tensor& g) -> std::vector<Tensor> {
    Tensor gw = zeros({V, C}, {dt, dev});
    DIFFT_KERNEL(dev, embedding_backward, "embedding")(sids.get(), g.contiguous().reshape({N, C}), gw);
    return {gw, Tensor()};
  });
}

// ---- where, masked_fill ----------------------------------------------------------------------

// The kernel call alone: no checks beyond the broadcast, no graph.
static Tensor where_forward(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Shape s = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Tensor out = empty(s, {a.dtype(), a.device()});
  NoGradGuard no_grad;
  DIFFT_KERNEL(a.device(), where, "where")(cond.expand(s), a.expand(s), b.expand(s), out);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same("where", a, b);
  check_floating("where", a);
  DIFFT_CHECK(cond.defined(), "where: undefined cond");
  DIFFT_CHECK(cond.device() == a.device(), "where: device mismatch: cond on ", cond.device().str(), ", a and b on ",
              a.device().str());
  const Shape sa = a.shape(), sb = b.shape();
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();  // skip the unused sum_to
  SavedTensor scond = cond;
  return record("where", where_forward(cond, a, b), {cond, a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& c = scond.get();
    const Tensor zero = zeros({}, {g.dtype(), g.device()});
    return {Tensor(), need_a ? sum_to(where_forward(c, g, zero), sa) : Tensor(),
            need_b ? sum_to(where_forward(c, zero, g), sb) : Tensor()};
  });
}

// One kernel call each way; the mask has x's shape after broadcasting, so no sum_to is needed.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_floating("masked_fill", x);
  DIFFT_CHECK(mask.defined(), "masked_fill: undefined mask");
  DIFFT_CHECK(mask.device() == x.device(), "masked_fill: device mismatch: mask on ", mask.device().str(), ", x on ",
              x.device().str());
  const Shape s = broadcast_shapes(mask.shape(), x.shape(), "masked_fill");
  DIFFT_CHECK(s == x.shape(), "masked_fill: mask ", shape_str(mask.shape()), " does not broadcast to x ",
              shape_str(x.shape()), " (the result would be ", shape_str(s), ")");
  const Tensor fill = full({}, value, {x.dtype(), x.device()});
  SavedTensor smask = mask;
  return record("masked_fill", where_forward(mask, fill, x), {x, mask}, [smask](const Tensor& g) -> std::vector<Tensor> {
    return {where_forward(smask.get(), zeros({}, {g.dtype(), g.device()}), g), Tensor()};
  });
}

// ---- cat, stack --------------------------------------------------------------------------------

// All xs defined, of xs[0]'s dtype and device and rank, equal in every dim but `dim`.
static void check_cat(const std::vector<Tensor>& xs, int64_t dim) {
  const Tensor& x0 = xs[0];
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    DIFFT_CHECK(x.defined(), "cat: tensor ", i, " is undefined");
    DIFFT_CHECK(x.dtype() == x0.dtype(), "cat: tensor ", i, " has dtype ", dtype_name(x.dtype()), " but tensor 0 has ",
                dtype_name(x0.dtype()));
    DIFFT_CHECK(x.device() == x0.device(), "cat: tensor ", i, " is on ", x.device().str(), " but tensor 0 is on ",
                x0.device().str());
    bool same = x.dim() == x0.dim();
    for (int64_t d = 0; same && d < x.dim(); ++d) same = d == dim || x.size(d) == x0.size(d);
    DIFFT_CHECK(same, "cat: tensor ", i, " has shape ", shape_str(x.shape()), " but tensor 0 has shape ",
                shape_str(x0.shape()), " (all dims except dim ", dim, " must match)");
  }
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  DIFFT_CHECK(!xs.empty(), "cat: expected a non-empty list of tensors");
  DIFFT_CHECK(xs[0].defined(), "cat: tensor 0 is undefined");
  DIFFT_CHECK(xs[0].dim() > 0, "cat: cannot concatenate 0-d tensors (use stack)");
  const int64_t d = normalize_dim(dim, xs[0].dim(), "cat");
  check_cat(xs, d);

  std::vector<int64_t> sizes;
  Shape s = xs[0].shape();
  s[size_t(d)] = 0;
  for (const Tensor& x : xs) sizes.push_back(x.size(d)), s[size_t(d)] += x.size(d);
  Tensor out = empty(s, {xs[0].dtype(), xs[0].device()});
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (sizes[i] > 0) DIFFT_KERNEL(out.device(), copy, "cat")(xs[i], out.narrow(d, start, sizes[i]));
      start += sizes[i];
    }
  }
  if (!is_floating(out.dtype())) return out;
  return record("cat", out, xs, [d, sizes](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> gs;
    int64_t start = 0;
    for (int64_t n : sizes) gs.push_back(g.narrow(d, start, n)), start += n;
    return gs;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  DIFFT_CHECK(!xs.empty(), "stack: expected a non-empty list of tensors");
  DIFFT_CHECK(xs[0].defined(), "stack: tensor 0 is undefined");
  const int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> us;
  for (size_t i = 0; i < xs.size(); ++i) {
    DIFFT_CHECK(xs[i].defined(), "stack: tensor ", i, " is undefined");
    DIFFT_CHECK(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
                " but tensor 0 has shape ", shape_str(xs[0].shape()), " (all must be equal)");
    us.push_back(xs[i].unsqueeze(d));
  }
  return cat(us, d);
}

// ---- split, chunk ----------------------------------------------------------------------------

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  DIFFT_CHECK(x.defined(), "split: undefined tensor");
  DIFFT_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int64_t d = normalize_dim(dim, x.dim(), "split");
  DIFFT_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
  const int64_t n = x.size(d);
  if (n == 0) return {x.narrow(d, 0, 0)};  // as torch: one empty piece
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < n; start += split_size)
    pieces.push_back(x.narrow(d, start, std::min(split_size, n - start)));
  return pieces;
}

// As torch.chunk: pieces of ceil(n / chunks), so there may be fewer than `chunks` of them.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  DIFFT_CHECK(x.defined(), "chunk: undefined tensor");
  DIFFT_CHECK(x.dim() > 0, "chunk: cannot chunk a 0-d tensor");
  const int64_t d = normalize_dim(dim, x.dim(), "chunk");
  DIFFT_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  const int64_t n = x.size(d);
  if (n == 0) {  // as torch: `chunks` empty pieces
    std::vector<Tensor> pieces;
    for (int64_t i = 0; i < chunks; ++i) pieces.push_back(x.narrow(d, 0, 0));
    return pieces;
  }
  return split(x, (n + chunks - 1) / chunks, d);
}

}  // namespace difft
