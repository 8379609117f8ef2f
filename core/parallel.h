// parallel.h: the threading policy of the CPU backend.
//
// One pool of N threads serves everything, N = DIFFT_NUM_THREADS or, by default, the machine's
// cores. Two libraries could each start N threads, so the rule is:
//   - oneTBB runs every parallel loop on N workers: elementwise, reductions, softmax, norms, RoPE,
//     attention, and matrix products (core/cpu/matmul.cpp cuts one large product into blocks of
//     the output, a single-threaded BLAS call each);
//   - OpenBLAS is kept at 1 thread. Its own pool would run products well enough alone, but its
//     threads spin for ~0.1 s after each call and take the cores from the TBB loops that follow
//     (measured: 15-20% of a training step on 2 cores, bench/README.md).
// BlasThreadsGuard(n) lends OpenBLAS n threads for one scope, for code that calls BLAS directly
// outside any TBB loop (the sgemm peak of bench_train_step).
//
// Results never depend on N: loops split work so that each output element is computed by one
// task in a fixed order, and reductions combine fixed-size chunks in index order.
#pragma once
#include <cstdint>
#include <string>

#include <type_traits>

namespace difft {

int num_threads();
// Sets the number of TBB threads (>= 1; OpenBLAS stays at 1). Called once at start-up from
// DIFFT_NUM_THREADS; may be called again (e.g. by benchmarks).
void set_num_threads(int n);
// "difft threads: 2 (DIFFT_NUM_THREADS unset, 2 cores); oneTBB 2021.8 max 2; OpenBLAS 0.3.21 ..."
std::string threading_info();

namespace detail {
// The one instantiation of tbb::parallel_for (parallel.cpp): kernels pass their loop bodies through
// a function pointer, so each kernel does not instantiate TBB's task machinery (which multiplied
// compile times by ~5x).
void parallel_for_impl(int64_t begin, int64_t end, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx);
}  // namespace detail

// Calls f(lo, hi) on sub-ranges of [begin, end) of at least `grain` items, in parallel when
// the range is larger than one grain. Serial below that, so tiny tensors pay no task overhead.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  if (end - begin <= grain || num_threads() == 1) {
    if (end > begin) f(begin, end);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for_impl(begin, end, grain, [](void* c, int64_t lo, int64_t hi) { (*static_cast<Fn*>(c))(lo, hi); },
                            const_cast<void*>(static_cast<const void*>(&f)));
}

// Sets OpenBLAS to n threads for its lifetime (see the policy above).
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(int n);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int prev_;
};

}  // namespace difft
