// test_alloc.cpp: the CPU allocator's alignment contract (core/cpu/elementwise.cpp, cpu_alloc).
// Every block is 64-byte aligned; blocks over 32 MB are 2 MB aligned so that they can be backed
// by transparent huge pages. The big tensor is written and read back in full to show the block
// is usable over its whole length.
#include <cstdint>

#include "tests/helpers.h"

using namespace difft;

static uintptr_t address(const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); }

TEST_CASE("cpu allocations: 64-byte aligned, and 2 MB aligned over 32 MB") {
  for (int64_t n : {1, 3, 1000, 1 << 20}) CHECK(address(empty({n})) % 64 == 0);
  CHECK(address(empty({int64_t(1) << 22})) % 64 == 0);   // 16 MB: below the huge-page size class

  const int64_t n = (int64_t(32) << 20) / 4 + 5;  // just over 32 MB of float32
  Tensor big = full({n}, 2.0);
  CHECK(address(big) % (size_t(2) << 20) == 0);
  CHECK(sum(big).item() == doctest::Approx(2.0 * double(n)));
  CHECK(big.at({n - 1}) == 2.0);
}
