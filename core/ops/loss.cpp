// loss.cpp: cross-entropy of logits against integer class targets, fused with log_softmax.
//
//   logits (..., V), targets int64 (...), N = numel(targets) rows, K = the rows whose target is
//   not ignore_index:
//   loss     = (1/K) Σ_{n in K} (lse_n - logits[n, t_n]),   lse_n = log Σ_v e^logits[n, v]
//              (0 when K is empty)
//   glogits  = g/K · (softmax(logits[n]) - onehot(t_n)) for n in K, 0 for ignored rows
// The forward kernel computes lse and the per-row loss without materialising the probabilities;
// lse is saved so the backward kernel writes glogits in one pass over the logits. The mean's
// 1/K is folded into the per-row gradient gloss the backward kernel receives.
#include <vector>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

namespace {

// The multi-index of flat position i in shape s, for error messages.
Shape index_of(int64_t i, const Shape& s) {
  Shape idx(s.size());
  for (size_t d = s.size(); d-- > 0;) idx[d] = i % s[d], i /= s[d];
  return idx;
}

// Checks every non-ignored target is a class in [0, V) and returns how many there are.
int64_t count_targets(const Tensor& targets, int64_t v, int64_t ignore_index, const Shape& logits_shape) {
  const Tensor t = targets.to(Device::cpu()).contiguous();
  const int64_t* p = t.data<int64_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (p[i] == ignore_index) continue;
    DIFFT_CHECK(p[i] >= 0 && p[i] < v, "cross_entropy: target ", p[i], " at position ",
                shape_str(index_of(i, t.shape())), " is out of range [0, ", v, ") for logits ",
                shape_str(logits_shape), " (ignore_index is ", ignore_index, ")");
    ++count;
  }
  return count;
}

void check_args(const Tensor& logits, const Tensor& targets) {
  check_floating("cross_entropy", logits);
  DIFFT_CHECK(targets.defined(), "cross_entropy: undefined targets");
  DIFFT_CHECK(logits.dim() >= 2, "cross_entropy: logits must be (..., V) with at least 2 dims, got ",
              shape_str(logits.shape()));
  DIFFT_CHECK(targets.dtype() == DType::Int64, "cross_entropy: targets must be int64 class indices, got ",
              dtype_name(targets.dtype()), " ", shape_str(targets.shape()));
  DIFFT_CHECK(targets.device() == logits.device(), "cross_entropy: logits on ", logits.device().str(),
              " but targets on ", targets.device().str());
  const Shape lead(logits.shape().begin(), logits.shape().end() - 1);
  DIFFT_CHECK(targets.shape() == lead, "cross_entropy: targets ", shape_str(targets.shape()),
              " must have the leading shape ", shape_str(lead), " of logits ", shape_str(logits.shape()));
  DIFFT_CHECK(logits.size(-1) > 0, "cross_entropy: logits ", shape_str(logits.shape()), " have no classes");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  check_args(logits, targets);
  const int64_t v = logits.size(-1), n = targets.numel();
  const int64_t count = count_targets(targets, v, ignore_index, logits.shape());
  const double scale = count > 0 ? 1.0 / double(count) : 0.0;  // all ignored: loss 0, gradient 0
  const TensorOptions opt{logits.dtype(), logits.device()};
  Tensor x, t, lse, out;
  {
    NoGradGuard no_grad;  // the reshapes are internal; this op records its own node below
    x = logits.contiguous().view({n, v});
    t = targets.reshape({n});
    Tensor loss_rows = empty({n}, opt);
    lse = empty({n}, opt);
    if (n > 0) DIFFT_KERNEL(logits.device(), cross_entropy_forward, "cross_entropy")(x, t, ignore_index, loss_rows, lse);
    out = mul(sum(loss_rows), scale);  // ignored rows hold exactly 0
  }
  SavedTensor saved_x = x, saved_t = t, saved_lse = lse;
  const Shape shape = logits.shape();
  return record("cross_entropy", out, {logits, targets},
                [saved_x, saved_t, saved_lse, ignore_index, scale, n, v, shape](const Tensor& g) -> std::vector<Tensor> {
    const Tensor& xx = saved_x.get();
    Tensor glogits = empty({n, v}, {xx.dtype(), xx.device()});
    if (n > 0) {
      const Tensor gloss = mul(g, scale).reshape({1}).expand({n});  // every row's share of the mean
      DIFFT_KERNEL(xx.device(), cross_entropy_backward, "cross_entropy")(xx, saved_t.get(), ignore_index,
                                                                         saved_lse.get(), gloss, glogits);
    }
    return {glogits.view(shape), Tensor()};
  });
}

}  // namespace difft
