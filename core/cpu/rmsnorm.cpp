// rmsnorm.cpp: CPU kernels of RMSNorm (the math and its derivation are in core/ops/rmsnorm.cpp).
//
//   forward:  rstd[n] = 1 / sqrt(mean_c x[n,c]² + eps);   y[n,c] = x[n,c] rstd[n] w[c]
//   backward: gx[n,c] = rstd[n] (gy w − xhat · mean_c(gy w xhat))[n,c],  xhat = x rstd
//             gw[c]   = Σ_n gy[n,c] xhat[n,c]
// Rows are independent, so both directions run in parallel over rows. gw is a sum over rows:
// rows are grouped in fixed chunks of kRowsPerChunk, each chunk sums its rows into its own
// partial vector, and the partials are added in chunk order. The grouping depends only on N, so
// gw is bitwise the same on any number of threads.
// Row sums (mean of x², the dot product of the backward) and the gw partials accumulate in
// double for both dtypes: C is up to a few thousand, and float accumulation would cost ~1e-5
// relative accuracy there for no measurable speed gain (the loops are memory-bound).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

constexpr int64_t kRowsPerChunk = 64;

// w may be a strided (e.g. expanded) vector; the row loops want it contiguous.
template <class T>
std::vector<T> weight_vector(const Tensor& w) {
  const int64_t C = w.size(0), s = w.strides()[0];
  const T* p = static_cast<const T*>(w.raw_data());
  std::vector<T> v(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) v[size_t(c)] = p[c * s];
  return v;
}

template <class T>
void forward_impl(const Tensor& x, const Tensor& w, double eps, const Tensor& y, const Tensor& rstd) {
  const int64_t N = x.size(0), C = x.size(1);
  const T* px = static_cast<const T*>(x.raw_data());
  T* py = static_cast<T*>(y.raw_data());
  T* pr = static_cast<T*>(rstd.raw_data());
  const std::vector<T> wv = weight_vector<T>(w);
  const T* pw = wv.data();
  parallel_for(0, N, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, C)), [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      const T* xr = px + n * C;
      T* yr = py + n * C;
      const double ss = lane_sum(xr, xr, C);
      const double ms = C > 0 ? ss / double(C) : 0.0;
      const T r = T(1.0 / std::sqrt(ms + eps));
      pr[n] = r;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * pw[c];
    }
  });
}

template <class T>
void backward_impl(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& gy, const Tensor& gx,
                   const Tensor& gw) {
  const int64_t N = x.size(0), C = x.size(1);
  const T* px = static_cast<const T*>(x.raw_data());
  const T* pg = static_cast<const T*>(gy.raw_data());
  const T* pr = static_cast<const T*>(rstd.raw_data());
  T* pgx = static_cast<T*>(gx.raw_data());
  T* pgw = static_cast<T*>(gw.raw_data());
  const std::vector<T> wv = weight_vector<T>(w);
  const T* pw = wv.data();

  const int64_t chunks = (N + kRowsPerChunk - 1) / kRowsPerChunk;
  std::vector<double> part(static_cast<size_t>(chunks * C), 0.0);  // gw partial of each chunk
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, kRowsPerChunk * C));
  parallel_for(0, chunks, grain, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      double* acc = part.data() + k * C;
      const int64_t n1 = std::min(N, (k + 1) * kRowsPerChunk);
      for (int64_t n = k * kRowsPerChunk; n < n1; ++n) {
        const T* xr = px + n * C;
        const T* gr = pg + n * C;
        T* gxr = pgx + n * C;
        const double r = double(pr[n]);
        const double dot = lane_sum(gr, pw, C, xr) * r;  // Σ_c gy w xhat
        const double m = dot / double(C);  // unused when C == 0 (the loop below is empty)
        for (int64_t c = 0; c < C; ++c) {
          const double xhat = double(xr[c]) * r;
          gxr[c] = T(r * (double(gr[c]) * double(pw[c]) - xhat * m));
          acc[c] += double(gr[c]) * xhat;
        }
      }
    }
  });
  // gw[c] = Σ_k part[k][c], in chunk order for every c.
  parallel_for(0, C, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, chunks)), [&](int64_t c0, int64_t c1) {
    std::vector<double> sum(static_cast<size_t>(c1 - c0), 0.0);
    for (int64_t k = 0; k < chunks; ++k) {
      const double* p = part.data() + k * C + c0;
      for (int64_t c = 0; c < c1 - c0; ++c) sum[size_t(c)] += p[c];
    }
    for (int64_t c = 0; c < c1 - c0; ++c) pgw[c0 + c] = T(sum[size_t(c)]);
  });
}

void check_rows(const char* op, const Tensor& t) {
  DIFFT_CHECK(t.dim() == 2 && t.is_contiguous(), op, ": the cpu kernel needs a contiguous (N, C) tensor, got ",
              shape_str(t.shape()), t.is_contiguous() ? "" : " (strided)");
}

void cpu_rmsnorm_forward(const Tensor& x, const Tensor& w, double eps, const Tensor& y, const Tensor& rstd) {
  check_rows("rms_norm", x);
  dispatch_float(x.dtype(), "rms_norm", [&](auto t) { forward_impl<decltype(t)>(x, w, eps, y, rstd); });
}

void cpu_rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& gy, const Tensor& gx,
                          const Tensor& gw) {
  check_rows("rms_norm", x);
  check_rows("rms_norm", gy);
  dispatch_float(x.dtype(), "rms_norm", [&](auto t) { backward_impl<decltype(t)>(x, w, rstd, gy, gx, gw); });
}

}  // namespace

void register_rmsnorm(Kernels& k) {
  k.rmsnorm_forward = cpu_rmsnorm_forward;
  k.rmsnorm_backward = cpu_rmsnorm_backward;
}

}  // namespace difft::cpu
