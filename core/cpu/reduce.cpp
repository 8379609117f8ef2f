// reduce.cpp: sum / max / min over any set of dims (out has x's rank, size 1 on reduced dims).
//
// x is viewed as [kept dims..., reduced dims...]. Three loop shapes, chosen from the shapes only
// (never from the thread count, so results are bitwise the same on any number of threads):
//  - rows:    the innermost reduced run has stride 1  -> each output reduces a contiguous run;
//  - columns: the innermost x dim is kept, stride 1   -> blocks of adjacent outputs accumulate
//             row after row (vectorizes across outputs; the bias-gradient / sum_to case);
//  - chunked: few outputs, many elements              -> fixed 64K-element chunks reduced in
//             parallel, partials combined in index order (a full sum of 16M elements).
// Sums accumulate in double.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

template <class T>
struct Acc {
  ReduceOp op;
  double init() const {
    return op == ReduceOp::Sum ? 0.0 : op == ReduceOp::Max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  double step(double a, T v) const {
    const double d = double(v);
    if (op == ReduceOp::Sum) return a + d;
    if (std::isnan(d) || std::isnan(a)) return std::numeric_limits<double>::quiet_NaN();  // NaN propagates, as in torch
    return op == ReduceOp::Max ? (d > a ? d : a) : (d < a ? d : a);
  }
  double combine(double a, double b) const { return op == ReduceOp::Sum ? a + b : step(a, T(b)); }
};

// Odometer over a (shape, strides) index space, yielding element offsets in order.
struct Walker {
  Shape shape, strides;
  // Calls f(offset) for every index in order, starting at flat position lo, for n positions.
  template <class F>
  void walk(int64_t lo, int64_t n, F&& f) const {
    const int64_t nd = int64_t(shape.size());
    if (nd == 0) { if (n > 0) f(int64_t(0)); return; }
    // called once per output in the row loop: no heap allocation for the usual ranks
    std::array<int64_t, 16> idx_small{};
    std::vector<int64_t> idx_big;
    int64_t* idx = nd <= 16 ? idx_small.data() : (idx_big.assign(size_t(nd), 0), idx_big.data());
    int64_t rem = lo, off = 0;
    for (int64_t d = nd - 1; d >= 0; --d) idx[d] = rem % shape[size_t(d)], rem /= shape[size_t(d)], off += idx[d] * strides[size_t(d)];
    for (int64_t i = 0; i < n; ++i) {
      f(off);
      for (int64_t d = nd - 1; d >= 0; --d) {
        off += strides[size_t(d)];
        if (++idx[d] < shape[size_t(d)]) break;
        off -= shape[size_t(d)] * strides[size_t(d)];
        idx[d] = 0;
      }
    }
  }
};

template <class T>
void reduce_impl(ReduceOp op, const Tensor& x, const Tensor& out) {
  const Acc<T> acc{op};
  const T* px = static_cast<const T*>(x.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  // Split x's dims into kept (outer) and reduced (inner) index spaces; merge contiguous runs.
  Shape ks, kst, rs, rst;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.shape()[size_t(d)] == 1) continue;
    const bool reduced = out.shape()[size_t(d)] == 1;
    Shape& s = reduced ? rs : ks;
    Shape& st = reduced ? rst : kst;
    if (!s.empty() && st.back() == x.strides()[size_t(d)] * x.shape()[size_t(d)]) {
      s.back() *= x.shape()[size_t(d)];
      st.back() = x.strides()[size_t(d)];
    } else {
      s.push_back(x.shape()[size_t(d)]);
      st.push_back(x.strides()[size_t(d)]);
    }
  }
  const int64_t n_out = shape_numel(ks), n_red = shape_numel(rs);
  const Walker kept{ks, kst}, red{rs, rst};
  // out is contiguous and its element order equals the kept index order.
  if (n_out == 0) return;  // nothing to write (and the loop shapes below divide by kept sizes)
  if (n_red == 0) {
    for (int64_t o = 0; o < n_out; ++o) po[o] = T(acc.init());
    return;
  }
  const bool inner_unit = !rst.empty() && rst.back() == 1;
  if (n_out < 16 && n_red >= 65536) {  // chunked
    constexpr int64_t kChunk = 65536;
    const int64_t chunks = (n_red + kChunk - 1) / kChunk;
    std::vector<double> part(static_cast<size_t>(n_out * chunks));
    kept.walk(0, n_out, [&, o = int64_t(0)](int64_t base) mutable {
      parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          double a = acc.init();
          red.walk(c * kChunk, std::min(kChunk, n_red - c * kChunk), [&](int64_t off) { a = acc.step(a, px[base + off]); });
          part[size_t(o * chunks + c)] = a;
        }
      });
      double a = acc.init();
      for (int64_t c = 0; c < chunks; ++c) a = acc.combine(a, part[size_t(o * chunks + c)]);
      po[o++] = T(a);
    });
    return;
  }
  if (!inner_unit && !kst.empty() && kst.back() == 1) {  // columns
    const int64_t inner = ks.back(), blocks_per_row = (inner + 255) / 256;
    const Walker outer{Shape(ks.begin(), ks.end() - 1), Shape(kst.begin(), kst.end() - 1)};
    parallel_for(0, (n_out / inner) * blocks_per_row, std::max<int64_t>(1, kGrain / (256 * n_red) + 1), [&](int64_t b0, int64_t b1) {
      std::vector<double> a(256);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = b / blocks_per_row, j0 = (b % blocks_per_row) * 256, len = std::min<int64_t>(256, inner - j0);
        int64_t base = 0;
        outer.walk(row, 1, [&](int64_t off) { base = off; });
        std::fill(a.begin(), a.begin() + len, acc.init());
        red.walk(0, n_red, [&](int64_t off) {
          const T* p = px + base + off + j0;
          if (op == ReduceOp::Sum) for (int64_t j = 0; j < len; ++j) a[size_t(j)] += double(p[j]);
          else for (int64_t j = 0; j < len; ++j) a[size_t(j)] = acc.step(a[size_t(j)], p[j]);
        });
        for (int64_t j = 0; j < len; ++j) po[row * inner + j0 + j] = T(a[size_t(j)]);
      }
    });
    return;
  }
  // rows (also the general strided fallback)
  const int64_t run = inner_unit ? rs.back() : 1;
  const Walker outer_red = inner_unit ? Walker{Shape(rs.begin(), rs.end() - 1), Shape(rst.begin(), rst.end() - 1)} : red;
  const int64_t n_runs = n_red / run;
  parallel_for(0, n_out, std::max<int64_t>(1, kGrain / n_red), [&](int64_t o0, int64_t o1) {
    kept.walk(o0, o1 - o0, [&, o = o0](int64_t base) mutable {
      double a = acc.init();
      outer_red.walk(0, n_runs, [&](int64_t off) {
        const T* p = px + base + off;
        if (op == ReduceOp::Sum) {
          double s = 0;
          for (int64_t j = 0; j < run; ++j) s += double(p[j]);
          a += s;
        } else {
          for (int64_t j = 0; j < run; ++j) a = acc.step(a, p[j]);
        }
      });
      po[o++] = T(a);
    });
  });
}

void cpu_reduce(ReduceOp op, const Tensor& x, const Tensor& out) {
  dispatch_float(x.dtype(), "reduce", [&](auto t) { reduce_impl<decltype(t)>(op, x, out); });
}

}  // namespace

void register_reduce(Kernels& k) { k.reduce = cpu_reduce; }

}  // namespace difft::cpu
