// rope.cpp: CPU kernel of the rotary embedding on interleaved pairs (math in core/ops/rope.cpp).
//
//   x, out (B, T, H, D) contiguous; for row (b, t), head h, pair m < D/2:
//     out[2m]   = x[2m] cos(t, m) − x[2m+1] sin(t, m)
//     out[2m+1] = x[2m] sin(t, m) + x[2m+1] cos(t, m)
//   angle(t, m) = (pos_offset + t) · theta^(-2m/D), negated when `inverse`.
// The table (T, D/2) is built once per call, in double and then rounded to T: positions reach
// 10^5 and more, and an angle formed in float32 would be off by ~t·6e-8 rad before any rotation.
// Every (b, t) row reads one table row and rotates its H heads; rows run in parallel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

template <class T>
void rope_impl(const Tensor& x, const Tensor& out, int64_t pos_offset, double theta, bool inverse) {
  const int64_t B = x.size(0), T_ = x.size(1), H = x.size(2), D = x.size(3), P = D / 2;
  std::vector<T> cos_t(static_cast<size_t>(T_ * P)), sin_t(static_cast<size_t>(T_ * P));
  std::vector<double> inv_freq(static_cast<size_t>(P));
  for (int64_t m = 0; m < P; ++m) inv_freq[size_t(m)] = std::pow(theta, -2.0 * double(m) / double(D));
  const double sign = inverse ? -1.0 : 1.0;
  for (int64_t t = 0; t < T_; ++t) {
    const double pos = double(pos_offset + t);
    for (int64_t m = 0; m < P; ++m) {
      const double a = pos * inv_freq[size_t(m)];
      cos_t[size_t(t * P + m)] = T(std::cos(a));
      sin_t[size_t(t * P + m)] = T(sign * std::sin(a));
    }
  }
  const T* px = static_cast<const T*>(x.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  const int64_t row = H * D;  // elements of one (b, t)
  parallel_for(0, B * T_, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, row)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t t = r % T_;
      const T* c = cos_t.data() + t * P;
      const T* s = sin_t.data() + t * P;
      for (int64_t h = 0; h < H; ++h) {
        const T* xi = px + r * row + h * D;
        T* o = po + r * row + h * D;
        for (int64_t m = 0; m < P; ++m) {
          const T x0 = xi[2 * m], x1 = xi[2 * m + 1];
          o[2 * m] = x0 * c[m] - x1 * s[m];
          o[2 * m + 1] = x0 * s[m] + x1 * c[m];
        }
      }
    }
  });
}

void cpu_rope(const Tensor& x, const Tensor& out, int64_t pos_offset, double theta, bool inverse) {
  DIFFT_CHECK(x.dim() == 4 && x.is_contiguous() && x.size(3) % 2 == 0, "rope: the cpu kernel needs a contiguous ",
              "(B, T, H, D) tensor with D even, got ", shape_str(x.shape()));
  dispatch_float(x.dtype(), "rope", [&](auto t) { rope_impl<decltype(t)>(x, out, pos_offset, theta, inverse); });
}

}  // namespace

void register_rope(Kernels& k) { k.rope = cpu_rope; }

}  // namespace difft::cpu
