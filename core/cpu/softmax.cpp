// softmax.cpp: CPU kernels for softmax / log_softmax and the fused cross-entropy, row by row.
//
// Every kernel sees contiguous rows x[n, 0:C] (the op has moved the softmax dim last):
//   softmax        y = e^(x - m) / s              m = max_j x_j,  s = Σ_j e^(x_j - m)
//   log_softmax    y = (x - m) - log s
//   backward       softmax: gx = y (gy - Σ gy y)    log_softmax: gx = gy - e^y Σ gy
//   cross-entropy  lse = m + log s,  loss = lse - x[t]  (0 where t == ignore_index)
//                  glogits = gloss (e^(x - lse) - onehot(t)),  0 where t == ignore_index
// Subtracting m keeps every exponent <= 0, so nothing overflows (logits of 1000 are fine), and
// cross-entropy never stores the probabilities: the forward only sums e^(x - m) through a small
// stack buffer.
//
// -inf entries (masks): e^-inf = 0 exactly, so softmax gives exact zeros there, log_softmax -inf,
// and the softmax gradient there is exactly 0. A row that is entirely -inf has m = -inf and
// x - m = NaN, so the whole row comes out NaN, as in PyTorch; NaN or +inf in a row also makes the
// row NaN. Callers that mask whole rows (e.g. padding queries) must not rely on getting zeros.
//
// Speed and precision:
//  - One task per row range (grain ~kGrain elements); each row is computed by one task in a
//    fixed order, so results do not depend on the thread count.
//  - float32 rows use exp_nonpos below, a branch-free e^x the compiler vectorizes (glibc's expf
//    is scalar unless -ffast-math, which would also break the -inf/NaN rules above). float64
//    rows use std::exp: float64 serves gradient checks, where precision matters, not speed.
//  - Row sums (s, Σ gy y, Σ gy) accumulate in double, for float32 rows too: a vocabulary row of
//    50k terms summed in float could lose ~C·2^-24 relative in the worst case, while the widening
//    is one vectorized convert per element, negligible next to the exp. Sums and maxima run over
//    interleaved lanes (see kLanes) because the compiler may not reorder one serial
//    floating-point sum into vector lanes by itself.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

// e^x for float x <= 88, used where x = (value - row max) <= 0. x = n ln2 + r, |r| <= ln2/2;
// e^r by its Taylor series to degree 7 (truncation r^8/8! < 6e-9 relative, under half an ulp);
// 2^n goes straight into the exponent bits. Error under 1 ulp (max 0.94 ulp, 7.9e-8 relative,
// measured against double exp over every float in [-87.3, 0]). Results below 2^-126 (x < -87.3)
// flush to 0: next to a row sum >= 1 they are invisible. -inf -> 0, NaN -> NaN.
inline float exp_nonpos(float x) {
  constexpr float kLo = -87.3f, kHi = 88.0f;
  const float xc = x > kLo ? (x < kHi ? x : kHi) : kLo;  // NaN -> kLo, so the int cast is defined
  // round(xc / ln2) by the 1.5·2^23 trick: ISA-independent, and exact for |value| < 2^22
  const float n = (xc * 1.44269504088896341f + 0x1.8p23f) - 0x1.8p23f;
  // r = xc - n ln2 with ln2 split in two so that n * hi is exact (hi has 9 significant bits)
  const float r = (xc - n * 0.693359375f) - n * -2.12194440054690583e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float two_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // n in [-126, 127]
  const float e = p * two_n;
  return x < kLo ? 0.0f : (x != x ? x : e);
}

inline float exp_of(float x) { return exp_nonpos(x); }
inline double exp_of(double x) { return std::exp(x); }

// Row reductions run over kLanes interleaved partial results, lane k taking elements k, k + kLanes,
// ..., then combine the lanes pairwise (a fixed tree). Both steps are elementwise loops over the
// lane array, so they vectorize, and the order is fixed, so results are deterministic.
// 64 lanes: g++ keeps the lane loop a loop (it vectorizes it) instead of unrolling it into
// scalar code.

// Largest entry, ignoring NaN (a NaN row still ends up NaN through the sum of exponentials).
template <class T>
T row_max(const T* x, int64_t n) {
  T lane[kLanes];
  for (int64_t k = 0; k < kLanes; ++k) lane[k] = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; j += kLanes) {
    const int64_t len = std::min(kLanes, n - j);
    for (int64_t k = 0; k < len; ++k) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
  }
  for (int64_t w = kLanes / 2; w > 0; w /= 2)
    for (int64_t k = 0; k < w; ++k) lane[k] = lane[k + w] > lane[k] ? lane[k + w] : lane[k];
  return lane[0];
}

// out[j] = scale * e^(x[j] - shift); out may alias x.
template <class T>
void exp_shifted(const T* x, int64_t n, T shift, T scale, T* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = scale * exp_of(x[j] - shift);
}

// Σ e^(x[j] - shift) without storing the terms beyond a small buffer.
template <class T>
double sum_exp(const T* x, int64_t n, T shift) {
  constexpr int64_t kBlock = 512;
  T buf[kBlock];
  double s = 0.0;
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const int64_t len = std::min(kBlock, n - j0);
    exp_shifted(x + j0, len, shift, T(1), buf);
    s += lane_sum<T>(buf, nullptr, len);
  }
  return s;
}

// Runs row(n) for every row, rows grouped so each task gets about kGrain elements.
template <class F>
void for_rows(int64_t rows, int64_t cols, F&& row) {
  parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) row(n);
  });
}

template <class T>
void softmax_row(const T* x, T* y, int64_t c, bool log) {
  const T m = row_max(x, c);
  if (log) {
    const T log_s = T(std::log(sum_exp(x, c, m)));
    // (x - m) first: exact for entries near the max, so large logits keep their precision
    for (int64_t j = 0; j < c; ++j) y[j] = (x[j] - m) - log_s;
  } else {
    exp_shifted(x, c, m, T(1), y);
    const T inv = T(1.0 / lane_sum<T>(y, nullptr, c));
    for (int64_t j = 0; j < c; ++j) y[j] *= inv;
  }
}

void cpu_softmax_forward(const Tensor& x, const Tensor& y, bool log) {
  dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = x.size(0), c = x.size(1);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_rows(rows, c, [&](int64_t n) { softmax_row(px + n * c, py + n * c, c, log); });
  });
}

template <class T>
void softmax_backward_row(const T* y, const T* gy, T* gx, int64_t c, bool log) {
  if (log) {  // gx = gy - e^y Σ gy
    const T s = T(lane_sum<T>(gy, nullptr, c));
    exp_shifted(y, c, T(0), T(-s), gx);
    for (int64_t j = 0; j < c; ++j) gx[j] += gy[j];
  } else {  // gx = y (gy - Σ gy y)
    const T dot = T(lane_sum(gy, y, c));
    for (int64_t j = 0; j < c; ++j) gx[j] = y[j] * (gy[j] - dot);
  }
}

void cpu_softmax_backward(const Tensor& y, const Tensor& gy, const Tensor& gx, bool log) {
  dispatch_float(y.dtype(), log ? "log_softmax" : "softmax", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = y.size(0), c = y.size(1);
    const T *py = y.data<T>(), *pgy = gy.data<T>();
    T* pgx = gx.data<T>();
    for_rows(rows, c, [&](int64_t n) { softmax_backward_row(py + n * c, pgy + n * c, pgx + n * c, c, log); });
  });
}

// The 1-d inputs (targets, lse, gloss) may be strided, e.g. gloss expanded from the scalar mean.
inline int64_t stride_of(const Tensor& v) { return v.dim() == 0 ? 0 : v.strides()[0]; }

// A target the op has not validated (out of range and not ignored) gives NaN, never a stray read.
inline bool valid_target(int64_t t, int64_t v) { return t >= 0 && t < v; }

void cpu_cross_entropy_forward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                               const Tensor& loss, const Tensor& lse) {
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = logits.size(0), v = logits.size(1), ts = stride_of(targets);
    const T* px = logits.data<T>();
    const int64_t* pt = targets.data<int64_t>();
    T *ploss = loss.data<T>(), *plse = lse.data<T>();
    for_rows(rows, v, [&](int64_t n) {
      const T* x = px + n * v;
      const T m = row_max(x, v);
      const double log_s = std::log(sum_exp(x, v, m));
      plse[n] = T(double(m) + log_s);
      const int64_t target = pt[n * ts];
      if (target == ignore_index) {
        ploss[n] = T(0);
      } else if (!valid_target(target, v)) {
        ploss[n] = std::numeric_limits<T>::quiet_NaN();
      } else {  // (m - x[t]) + log s, in double: exact for logits near the max, however large
        ploss[n] = T((double(m) - double(x[target])) + log_s);
      }
    });
  });
}

void cpu_cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                const Tensor& lse, const Tensor& gloss, const Tensor& glogits) {
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto t) {
    using T = decltype(t);
    const int64_t rows = logits.size(0), v = logits.size(1);
    const int64_t ts = stride_of(targets), ls = stride_of(lse), gs = stride_of(gloss);
    const T *px = logits.data<T>(), *plse = lse.data<T>(), *pgl = gloss.data<T>();
    const int64_t* pt = targets.data<int64_t>();
    T* pg = glogits.data<T>();
    for_rows(rows, v, [&](int64_t n) {
      T* g = pg + n * v;
      const int64_t target = pt[n * ts];
      if (target == ignore_index) {
        for (int64_t j = 0; j < v; ++j) g[j] = T(0);
        return;
      }
      const T gl = valid_target(target, v) ? pgl[n * gs] : std::numeric_limits<T>::quiet_NaN();
      exp_shifted(px + n * v, v, plse[n * ls], gl, g);  // gl * softmax
      if (valid_target(target, v)) g[target] -= gl;
    });
  });
}

}  // namespace

void register_softmax(Kernels& k) {
  k.softmax_forward = cpu_softmax_forward;
  k.softmax_backward = cpu_softmax_backward;
  k.cross_entropy_forward = cpu_cross_entropy_forward;
  k.cross_entropy_backward = cpu_cross_entropy_backward;
}

}  // namespace difft::cpu
