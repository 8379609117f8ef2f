// parallel.h: the threading policy of the CPU backend.
//
// One pool of N threads serves everything, N = DIFFT_NUM_THREADS or, by default, the machine's
// cores. Two libraries could each start N threads, so the rule is:
//   - oneTBB runs the elementwise, reduction, softmax, norm, RoPE and attention loops on N workers;
//   - OpenBLAS gets N threads for a GEMM issued from the calling thread (one big matrix product);
//   - a batch of small GEMMs runs as a TBB loop over the batch with OpenBLAS set to 1 thread
//     (BlasThreadsGuard), so the two pools never run at the same time.
// Kernels never call BLAS from inside a TBB loop without that guard.
//
// Results never depend on N: loops split work so that each output element is computed by one
// task in a fixed order, and reductions combine fixed-size chunks in index order.
#pragma once
#include <cstdint>
#include <string>

#include <type_traits>

namespace difft {

int num_threads();
// Sets the number of threads for TBB and OpenBLAS (>= 1). Called once at start-up from
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
