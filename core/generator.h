// generator.h: a counter-based random generator (Philox4x32-10, Salmon et al., SC'11).
//
// The i-th value of a draw depends only on (seed, offset + i), so filling a tensor in parallel
// gives the same numbers on 1 or 64 threads, and the state is two integers that a checkpoint
// can store. Each draw of n values advances the offset by n.
#pragma once
#include <array>
#include <cstdint>

namespace difft {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }

  // Reserves n counters; returns the first. Values are then pure functions of (seed, counter).
  uint64_t reserve(uint64_t n) { const uint64_t o = offset_; offset_ += n; return o; }

  static std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter);
  static double uniform(uint64_t seed, uint64_t counter);  // [0, 1), 53 random bits
  static double normal(uint64_t seed, uint64_t counter);   // N(0, 1), Box-Muller

  double next_uniform() { return uniform(seed_, reserve(1)); }
  double next_normal() { return normal(seed_, reserve(1)); }

 private:
  uint64_t seed_ = 0, offset_ = 0;
};

}  // namespace difft
