#include "core/generator.h"

#include <cmath>

namespace difft {

std::array<uint32_t, 4> Generator::philox(uint64_t seed, uint64_t counter) {
  // Philox4x32 with 10 rounds; constants from the paper (and Random123).
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(M0) * c0, p1 = uint64_t(M1) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1), c3 = uint32_t(p0), c0 = n0, c2 = n2;
    k0 += W0, k1 += W1;
  }
  return {c0, c1, c2, c3};
}

static double to_unit(uint32_t hi, uint32_t lo) {  // 53 bits -> [0, 1)
  const uint64_t bits = ((uint64_t(hi) << 32) | lo) >> 11;
  return double(bits) * 0x1.0p-53;
}

double Generator::uniform(uint64_t seed, uint64_t counter) {
  const auto r = philox(seed, counter);
  return to_unit(r[0], r[1]);
}

double Generator::normal(uint64_t seed, uint64_t counter) {
  const auto r = philox(seed, counter);
  const double u1 = 1.0 - to_unit(r[0], r[1]);  // (0, 1], so log is finite
  const double u2 = to_unit(r[2], r[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace difft
