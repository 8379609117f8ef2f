// elementwise.cpp: CPU kernels for memory, copy/fill and pointwise math (unary, binary, where).
// The formulas of each op's derivative are in unary_backward, next to its forward.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <sys/mman.h>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

// Memory. Blocks up to 32 MB are left to malloc, which reuses them from its heap. Bigger blocks
// glibc maps afresh with mmap every time and unmaps on free, so each new big tensor would take a
// page fault per 4 KB on first write: 16384 faults for 64 MB, which on the 2-core dev VM cost
// several times the kernel that writes the tensor (alloc + write + free of 64 MB: 61 ms, against
// 2.6 ms for the write alone). Big blocks are therefore
//  - 2 MB aligned and advised as transparent huge pages (7 ms for the same test), and
//  - kept after free in a small cache that serves the next request of the same rounded size
//    (a training step allocates the same shapes every iteration). At most kCacheBytes are kept;
//    the oldest blocks are released first.
constexpr size_t kHugePage = size_t(2) << 20, kBigBlock = size_t(32) << 20;
constexpr size_t kCacheBytes = size_t(1) << 30;

class BigBlocks {
 public:
  void* take(size_t bytes) {  // a cached block of exactly `bytes`, or nullptr
    std::lock_guard<std::mutex> lock(m_);
    for (auto it = cached_.begin(); it != cached_.end(); ++it) {
      if (it->second != bytes) continue;
      void* p = it->first;
      cached_.erase(it);
      cached_bytes_ -= bytes;
      track_locked(p, bytes);
      return p;
    }
    return nullptr;
  }
  void track(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(m_);
    track_locked(p, bytes);
  }
  bool release(void* p) {  // false when p is not a big block in use
    if (n_live_.load(std::memory_order_acquire) == 0) return false;  // no lock for small blocks then
    std::lock_guard<std::mutex> lock(m_);
    const auto it = live_.find(p);
    if (it == live_.end()) return false;
    const size_t bytes = it->second;
    live_.erase(it);
    n_live_.store(live_.size(), std::memory_order_release);
    while (!cached_.empty() && cached_bytes_ + bytes > kCacheBytes) {
      std::free(cached_.front().first);
      cached_bytes_ -= cached_.front().second;
      cached_.pop_front();
    }
    if (bytes > kCacheBytes) {
      std::free(p);
    } else {
      cached_.emplace_back(p, bytes);
      cached_bytes_ += bytes;
    }
    return true;
  }

 private:
  void track_locked(void* p, size_t bytes) {
    live_.emplace(p, bytes);
    n_live_.store(live_.size(), std::memory_order_release);
  }
  std::mutex m_;
  std::unordered_map<void*, size_t> live_;       // big blocks in use
  std::deque<std::pair<void*, size_t>> cached_;  // freed big blocks, oldest first
  size_t cached_bytes_ = 0;
  std::atomic<size_t> n_live_{0};
};

BigBlocks& big_blocks() {
  static BigBlocks* b = new BigBlocks;  // never destroyed: tensors may be freed during exit
  return *b;
}

void* cpu_alloc(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const bool big = nbytes > kBigBlock;
  const size_t align = big ? kHugePage : 64;
  const size_t rounded = (nbytes + align - 1) / align * align;  // aligned_alloc needs a multiple of the alignment
  if (big) {
    if (void* p = big_blocks().take(rounded)) return p;
  }
  void* p = std::aligned_alloc(align, rounded);
  DIFFT_CHECK(p != nullptr, "allocate: out of memory allocating ", nbytes, " bytes on the cpu");
  if (big) {
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);  // a hint: no effect where THP is off
#endif
    big_blocks().track(p, rounded);
  }
  return p;
}

void cpu_free(void* p) {
  if (p != nullptr && !big_blocks().release(p)) std::free(p);
}

// Applies f elementwise: out[i] = f(in0[i], in1[i], ...), every operand of out's shape.
template <class TO, class... TI, class F, class... In>
void map(const Tensor& out, F f, const In&... in) {
  constexpr size_t N = sizeof...(TI) + 1;
  const std::array<const Shape*, N> strides{&out.strides(), &in.strides()...};
  TO* o = static_cast<TO*>(out.raw_data());
  const std::tuple<const TI*...> bases{static_cast<const TI*>(in.raw_data())...};
  for_each_segment<N>(out.shape(), strides, [&](const std::array<int64_t, N>& off, int64_t n, const std::array<int64_t, N>& st) {
    [&]<size_t... I>(std::index_sequence<I...>) {
      TO* po = o + off[0];
      const std::tuple<const TI*...> p{(std::get<I>(bases) + off[I + 1])...};
      if (st[0] == 1 && ((st[I + 1] == 1) && ...)) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(std::get<I>(p)[i]...);  // vectorizable
      } else {
        for (int64_t i = 0; i < n; ++i) po[i * st[0]] = f(std::get<I>(p)[i * st[I + 1]]...);
      }
    }(std::index_sequence_for<TI...>{});
  });
}

void cpu_copy(const Tensor& src, const Tensor& dst) {
  DIFFT_CHECK(src.device().is_cpu() && dst.device().is_cpu(), "copy: the cpu backend cannot move data to or from ", (src.device().is_cpu() ? dst : src).device().str());
  DIFFT_CHECK(src.shape() == dst.shape(), "copy: shape ", shape_str(src.shape()), " into ", shape_str(dst.shape()));
  dispatch_all(dst.dtype(), "copy", [&](auto td) {
    using TD = decltype(td);
    dispatch_all(src.dtype(), "copy", [&](auto ts) {
      using TS = decltype(ts);
      map<TD, TS>(dst, [](TS v) { return static_cast<TD>(v); }, src);
    });
  });
}

void cpu_fill(const Tensor& dst, double value) {
  dispatch_all(dst.dtype(), "fill", [&](auto t) {
    using T = decltype(t);
    const T v = static_cast<T>(value);
    map<T>(dst, [v]() { return v; });
  });
}

// Standard normal CDF and density, for the exact GELU. The CDF is written with erfc: 1 + erf(z)
// cancels for z << 0 (all digits lost by x = -5.5 in float32), erfc(-z) does not. It is computed
// in double even for float32: erfc's condition number 2z² (36 at x = -6) would turn the float
// rounding of x/√2 into a 2e-6 relative error of gelu(x).
template <class T> T phi_cdf(T x) { return T(0.5 * std::erfc(-double(x) * M_SQRT1_2)); }
template <class T> T phi_pdf(T x) { return std::exp(T(-0.5) * x * x) * T(0.5 * M_2_SQRTPI * M_SQRT1_2); }

template <class T, class F>
void with_unary(UnaryOp op, T a, F&& run) {
  switch (op) {
    case UnaryOp::Neg: return run([](T x) { return -x; });
    case UnaryOp::Exp: return run([](T x) { return std::exp(x); });
    case UnaryOp::Log: return run([](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return run([](T x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: return run([](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Abs: return run([](T x) { return std::abs(x); });
    case UnaryOp::Tanh: return run([](T x) { return std::tanh(x); });
    case UnaryOp::Sigmoid: return run([](T x) { return T(1) / (T(1) + std::exp(-x)); });
    case UnaryOp::Silu: return run([](T x) { return x / (T(1) + std::exp(-x)); });
    case UnaryOp::Relu: return run([](T x) { return x > T(0) ? x : T(0); });
    case UnaryOp::Gelu: return run([](T x) { return x * phi_cdf(x); });
    case UnaryOp::PowScalar: return run([a](T x) { return std::pow(x, a); });
    case UnaryOp::AddScalar: return run([a](T x) { return x + a; });
    case UnaryOp::MulScalar: return run([a](T x) { return x * a; });
    case UnaryOp::RDivScalar: return run([a](T x) { return a / x; });
  }
}

void cpu_unary(UnaryOp op, double alpha, const Tensor& x, const Tensor& out) {
  dispatch_float(out.dtype(), "unary", [&](auto t) {
    using T = decltype(t);
    with_unary<T>(op, T(alpha), [&](auto f) { map<T, T>(out, f, x); });
  });
}

// gx = gy * f'(x), written with y = f(x) where that is cheaper.
void cpu_unary_backward(UnaryOp op, double alpha, const Tensor& x, const Tensor& y, const Tensor& gy, const Tensor& gx) {
  dispatch_float(gx.dtype(), "unary_backward", [&](auto t) {
    using T = decltype(t);
    const T a = T(alpha);
    auto go = [&](auto f) { map<T, T, T, T>(gx, f, x, y, gy); };
    switch (op) {
      case UnaryOp::Neg: return go([](T, T, T g) { return -g; });
      case UnaryOp::Exp: return go([](T, T y, T g) { return g * y; });                 // e^x
      case UnaryOp::Log: return go([](T x, T, T g) { return g / x; });                 // 1/x
      case UnaryOp::Sqrt: return go([](T, T y, T g) { return g * T(0.5) / y; });      // 1/(2 sqrt x)
      case UnaryOp::Rsqrt: return go([](T x, T y, T g) { return g * T(-0.5) * y / x; });  // -x^-3/2 / 2
      case UnaryOp::Abs: return go([](T x, T, T g) { return x > T(0) ? g : x < T(0) ? -g : T(0); });
      case UnaryOp::Tanh: return go([](T, T y, T g) { return g * (T(1) - y * y); });
      case UnaryOp::Sigmoid: return go([](T, T y, T g) { return g * y * (T(1) - y); });
      case UnaryOp::Silu: return go([](T x, T, T g) {  // s + x s (1 - s)
        const T s = T(1) / (T(1) + std::exp(-x));
        return g * s * (T(1) + x * (T(1) - s));
      });
      case UnaryOp::Relu: return go([](T x, T, T g) { return x > T(0) ? g : T(0); });
      case UnaryOp::Gelu: return go([](T x, T, T g) { return g * (phi_cdf(x) + x * phi_pdf(x)); });
      case UnaryOp::PowScalar: return go([a](T x, T, T g) { return a == T(0) ? T(0) : g * a * std::pow(x, a - T(1)); });
      case UnaryOp::AddScalar: return go([](T, T, T g) { return g; });
      case UnaryOp::MulScalar: return go([a](T, T, T g) { return g * a; });
      case UnaryOp::RDivScalar: return go([a](T x, T, T g) { return -g * a / (x * x); });  // -a/x^2
    }
  });
}

void cpu_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_float(out.dtype(), "binary", [&](auto t) {
    using T = decltype(t);
    auto go = [&](auto f) { map<T, T, T>(out, f, a, b); };
    switch (op) {
      case BinaryOp::Add: return go([](T x, T y) { return x + y; });
      case BinaryOp::Sub: return go([](T x, T y) { return x - y; });
      case BinaryOp::Mul: return go([](T x, T y) { return x * y; });
      case BinaryOp::Div: return go([](T x, T y) { return x / y; });
      case BinaryOp::Maximum: return go([](T x, T y) { return x >= y ? x : y; });
      case BinaryOp::Minimum: return go([](T x, T y) { return x <= y ? x : y; });
      case BinaryOp::Eq: return go([](T x, T y) { return T(x == y); });
      case BinaryOp::Gt: return go([](T x, T y) { return T(x > y); });
      case BinaryOp::Lt: return go([](T x, T y) { return T(x < y); });
    }
  });
}

void cpu_where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_float(out.dtype(), "where", [&](auto t) {
    using T = decltype(t);
    dispatch_all(cond.dtype(), "where", [&](auto tc) {
      using TC = decltype(tc);
      map<T, TC, T, T>(out, [](TC c, T x, T y) { return c != TC(0) ? x : y; }, cond, a, b);
    });
  });
}

}  // namespace

void register_elementwise(Kernels& k) {
  k.alloc = cpu_alloc;
  k.free = cpu_free;
  k.copy = cpu_copy;
  k.fill = cpu_fill;
  k.unary = cpu_unary;
  k.unary_backward = cpu_unary_backward;
  k.binary = cpu_binary;
  k.where = cpu_where;
}

}  // namespace difft::cpu
