// loops.h: the iteration helpers every CPU kernel is built from.
//
// for_each_segment walks N same-shaped (possibly strided, broadcast) operands in parallel. Dims
// that are contiguous for every operand are merged first, so a contiguous tensor of 16M elements
// is one segment of 16M; the element range is split into fixed chunks (independent of the thread
// count) and the body sees runs of the innermost dim:
//     body(offsets[N] (elements, from each base), n (run length), inner_strides[N])
// A body should special-case "all inner strides 1" as a plain loop the compiler vectorizes.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/parallel.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace difft::cpu {

constexpr int64_t kGrain = 32768;  // elements per task: ~10-50 us of work, amortises scheduling

template <size_t N>
struct Coalesced {
  Shape shape;
  std::array<Shape, N> strides;
};

// Drops size-1 dims and merges dim i into i+1 when stride[i] == stride[i+1]*size[i+1] for all.
template <size_t N>
Coalesced<N> coalesce(const Shape& shape, const std::array<const Shape*, N>& strides) {
  Coalesced<N> c;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !c.shape.empty();
    for (size_t k = 0; k < N && merge; ++k)
      merge = c.strides[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      c.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) c.strides[k].back() = (*strides[k])[d];
    } else {
      c.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) c.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (c.shape.empty()) {  // a scalar, or all dims of size 1
    c.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) c.strides[k].push_back(1);
  }
  return c;
}

template <size_t N, class F>
void for_each_segment(const Shape& shape, const std::array<const Shape*, N>& strides, F&& body) {
  const int64_t total = shape_numel(shape);
  if (total == 0) return;
  const Coalesced<N> c = coalesce<N>(shape, strides);
  const int64_t nd = int64_t(c.shape.size()), inner = c.shape.back();
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = c.strides[k].back();
  parallel_for(0, total, kGrain, [&](int64_t lo, int64_t hi) {
    // multi-index of element lo, then walk runs of the inner dim
    std::array<int64_t, 8> idx_small{};
    std::vector<int64_t> idx_big;
    int64_t* idx = nd <= 8 ? idx_small.data() : (idx_big.assign(size_t(nd), 0), idx_big.data());
    int64_t rem = lo;
    for (int64_t d = nd - 1; d >= 0; --d) idx[d] = rem % c.shape[size_t(d)], rem /= c.shape[size_t(d)];
    std::array<int64_t, N> off{};
    for (size_t k = 0; k < N; ++k)
      for (int64_t d = 0; d < nd; ++d) off[k] += idx[d] * c.strides[k][size_t(d)];
    int64_t pos = lo;
    while (pos < hi) {
      const int64_t n = std::min(inner - idx[nd - 1], hi - pos);
      body(off, n, inner_strides);
      pos += n;
      idx[nd - 1] += n;
      for (size_t k = 0; k < N; ++k) off[k] += n * inner_strides[k];
      for (int64_t d = nd - 1; d > 0 && idx[d] == c.shape[size_t(d)]; --d) {  // carry
        idx[d] = 0;
        ++idx[d - 1];
        for (size_t k = 0; k < N; ++k)
          off[k] += c.strides[k][size_t(d - 1)] - c.shape[size_t(d)] * c.strides[k][size_t(d)];
      }
    }
  });
}

// Σ a[j] (b == nullptr) or Σ a[j]·b[j] (c == nullptr) or Σ a[j]·b[j]·c[j], accumulated in double
// over kLanes interleaved partial sums: one serial chain of adds cannot be vectorized (the
// compiler may not reorder it), 64 independent lanes can. The lanes combine in a fixed tree, so
// the result depends only on n, never on threads.
constexpr int64_t kLanes = 64;
template <class T>
double lane_sum(const T* a, const T* b, int64_t n, const T* c = nullptr) {
  double lane[kLanes] = {};
  for (int64_t j = 0; j < n; j += kLanes) {
    const int64_t len = std::min(kLanes, n - j);
    if (b == nullptr) {
      for (int64_t k = 0; k < len; ++k) lane[k] += double(a[j + k]);
    } else if (c == nullptr) {
      for (int64_t k = 0; k < len; ++k) lane[k] += double(a[j + k]) * double(b[j + k]);
    } else {
      for (int64_t k = 0; k < len; ++k) lane[k] += double(a[j + k]) * double(b[j + k]) * double(c[j + k]);
    }
  }
  for (int64_t w = kLanes / 2; w > 0; w /= 2)
    for (int64_t k = 0; k < w; ++k) lane[k] += lane[k + w];
  return lane[0];
}

// Calls f(T{}) with T = float or double for a floating dtype; throws for others.
template <class F>
void dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    default:
      throw Error(std::string(op) + ": the cpu backend supports float32 and float64 here, got " + dtype_name(t));
  }
}

// As dispatch_float, plus int64.
template <class F>
void dispatch_all(DType t, const char* op, F&& f) {
  if (t == DType::Int64) return f(int64_t{});
  dispatch_float(t, op, std::forward<F>(f));
}

}  // namespace difft::cpu
