#include <algorithm>
#include "core/parallel.h"

#include <cblas.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/version.h>

#include "core/error.h"

namespace difft {
namespace {

int default_threads() {
  if (const char* env = std::getenv("DIFFT_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    DIFFT_CHECK(end && *end == '\0' && n >= 1 && n <= 4096, "DIFFT_NUM_THREADS: expected a whole number >= 1, got '", env, "'");
    return int(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

struct ThreadState {
  int n = 0;
  std::unique_ptr<tbb::global_control> tbb_limit;
};

ThreadState& state() {
  static ThreadState s;
  static std::once_flag once;
  std::call_once(once, [] {
    s.n = default_threads();
    s.tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, s.n);
    openblas_set_num_threads(1);  // TBB is the only pool (parallel.h)
  });
  return s;
}

}  // namespace

int num_threads() { return state().n; }

void set_num_threads(int n) {
  DIFFT_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  ThreadState& s = state();
  s.n = n;
  s.tbb_limit.reset();
  s.tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
}

std::string threading_info() {
  std::ostringstream os;
  const char* env = std::getenv("DIFFT_NUM_THREADS");
  os << "difft threads: " << num_threads() << " (DIFFT_NUM_THREADS " << (env ? env : "unset") << ", "
     << std::thread::hardware_concurrency() << " hardware threads)\n"
     << "oneTBB " << TBB_VERSION_MAJOR << "." << TBB_VERSION_MINOR << ": max_allowed_parallelism "
     << tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) << "\n"
     << "OpenBLAS: " << openblas_get_num_threads() << " threads, config: " << openblas_get_config()
     << "\npolicy: one TBB pool; OpenBLAS single-threaded, large GEMMs split into blocks on the TBB pool";
  return os.str();
}

void detail::parallel_for_impl(int64_t begin, int64_t end, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx) {
  tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(ctx, r.begin(), r.end()); });
}

BlasThreadsGuard::BlasThreadsGuard(int n) : prev_(openblas_get_num_threads()) {
  if (n != prev_) openblas_set_num_threads(n);
}
BlasThreadsGuard::~BlasThreadsGuard() {
  if (openblas_get_num_threads() != prev_) openblas_set_num_threads(prev_);
}

}  // namespace difft
