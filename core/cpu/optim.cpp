// optim.cpp: the fused AdamW update, one pass over p, g, m, v (torch's single-tensor order of
// operations, with scalars in the tensor's type, so float32 results track torch's to ~1 ulp).
#include <cmath>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

void cpu_adamw_update(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
                      double eps, double wd, double bc1, double bc2) {
  dispatch_float(p.dtype(), "adamw_update", [&](auto tag) {
    using T = decltype(tag);
    T* pp = p.data<T>();
    T* pm = m.data<T>();
    T* pv = v.data<T>();
    const T* pg = g.data<T>();
    const T decay = T(1.0 - lr * wd), b1 = T(beta1), c1 = T(1.0 - beta1), b2 = T(beta2), c2 = T(1.0 - beta2);
    const T step = T(lr / bc1), bc2_sqrt = T(std::sqrt(bc2)), e = T(eps);
    parallel_for(0, p.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const T gi = pg[i];
        pm[i] = pm[i] * b1 + gi * c1;
        pv[i] = pv[i] * b2 + gi * gi * c2;
        pp[i] = pp[i] * decay - step * (pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + e));
      }
    });
  });
}

}  // namespace

void register_optim(Kernels& k) { k.adamw_update = cpu_adamw_update; }

}  // namespace difft::cpu
