// embedding.cpp: CPU kernels for the embedding lookup and its scatter-add backward.
//
//   forward   out[n, :] = weight[idx[n], :]          weight (V, C), idx (N), out (N, C)
//   backward  gweight[idx[n], :] += gout[n, :]       for n = 0 .. N-1, in that order
// The backward must be deterministic without atomics although tokens repeat: each task owns a
// block of columns of gweight and walks all tokens in order, so every element of gweight is
// summed by one task in token order, on any number of threads. Sums accumulate in the tensor's
// dtype (float32 in float32), as the additions land directly in gweight.
#include <algorithm>
#include <cstring>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

// Columns per backward task: 64 floats are 4 cache lines of each gout/gweight row touched,
// wide enough to vectorize and narrow enough that C = 512 already gives 8 tasks.
constexpr int64_t kColumnBlock = 64;

void cpu_embedding_forward(const Tensor& weight, const Tensor& idx, const Tensor& out) {
  dispatch_float(out.dtype(), "embedding_forward", [&](auto t) {
    using T = decltype(t);
    const T* w = weight.data<T>();
    const int64_t* ids = idx.data<int64_t>();
    T* o = out.data<T>();
    const int64_t N = idx.numel(), C = weight.size(1);
    if (C == 0) return;
    // rows are independent copies: split tokens so that each task moves ~kGrain elements
    parallel_for(0, N, std::max<int64_t>(1, kGrain / C), [&](int64_t lo, int64_t hi) {
      for (int64_t n = lo; n < hi; ++n) std::memcpy(o + n * C, w + ids[n] * C, size_t(C) * sizeof(T));
    });
  });
}

void cpu_embedding_backward(const Tensor& idx, const Tensor& gout, const Tensor& gweight) {
  dispatch_float(gweight.dtype(), "embedding_backward", [&](auto t) {
    using T = decltype(t);
    const int64_t* ids = idx.data<int64_t>();
    const T* g = gout.data<T>();
    T* gw = gweight.data<T>();
    const int64_t N = idx.numel(), C = gweight.size(1);
    const int64_t blocks = (C + kColumnBlock - 1) / kColumnBlock;
    // one block per task when N is large; small problems run serially (grain in blocks)
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, N * kColumnBlock));
    parallel_for(0, blocks, grain, [&](int64_t blo, int64_t bhi) {
      const int64_t c0 = blo * kColumnBlock, c1 = std::min(C, bhi * kColumnBlock), w = c1 - c0;
      for (int64_t n = 0; n < N; ++n) {
        const T* src = g + n * C + c0;
        T* dst = gw + ids[n] * C + c0;
        for (int64_t c = 0; c < w; ++c) dst[c] += src[c];  // vectorizable
      }
    });
  });
}

}  // namespace

void register_embedding(Kernels& k) {
  k.embedding_forward = cpu_embedding_forward;
  k.embedding_backward = cpu_embedding_backward;
}

}  // namespace difft::cpu
