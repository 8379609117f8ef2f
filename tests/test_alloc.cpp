// test_alloc.cpp: the CPU allocator (core/cpu/elementwise.cpp, cpu_alloc / cpu_free).
// Every block is 64-byte aligned. Blocks over 32 MB are 2 MB aligned (so transparent huge pages
// can back them) and, once freed, are reused for the next request of the same rounded size, never
// while still in use. The big tensors are written and read back in full to show that a block is
// usable over its whole length.
#include <cstdint>

#include "tests/helpers.h"

using namespace difft;

static uintptr_t address(const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); }

constexpr int64_t kBig = (int64_t(32) << 20) / 4 + 5;  // float32 elements: just over 32 MB

TEST_CASE("cpu allocations: 64-byte aligned, and 2 MB aligned over 32 MB") {
  for (int64_t n : {1, 3, 1000, 1 << 20}) CHECK(address(empty({n})) % 64 == 0);
  CHECK(address(empty({int64_t(1) << 22})) % 64 == 0);  // 16 MB: a malloc block

  Tensor big = full({kBig}, 2.0);
  CHECK(address(big) % (size_t(2) << 20) == 0);
  CHECK(sum(big).item() == doctest::Approx(2.0 * double(kBig)));
  CHECK(big.at({kBig - 1}) == 2.0);
}

TEST_CASE("cpu allocations: a freed big block is reused for the same size, never while in use") {
  uintptr_t first = 0;
  {
    Tensor a = full({kBig}, 1.0);
    first = address(a);
    Tensor b = empty({kBig});  // a is alive: b must get other memory
    CHECK(address(b) != first);
  }
  Tensor c = empty({kBig});  // same rounded size as the freed a (or b): one of them comes back
  Tensor d = empty({kBig});
  CHECK((address(c) == first || address(d) == first));
  CHECK(address(c) != address(d));
  d.fill_(3.0);
  c.fill_(4.0);
  CHECK(d.at({0}) == 3.0);
  CHECK(d.at({kBig - 1}) == 3.0);
  CHECK(c.at({kBig - 1}) == 4.0);

  // A bigger request does not take the smaller cached block; the next same-size request does.
  const uintptr_t freed = address(c);
  c = Tensor();
  const Tensor e = full({2 * kBig}, 5.0);
  CHECK(address(e) != freed);
  const Tensor f = empty({kBig});
  CHECK(address(f) == freed);
  CHECK(e.at({2 * kBig - 1}) == 5.0);
}
