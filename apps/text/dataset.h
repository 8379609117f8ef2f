// dataset.h: token streams cut into a train/validation split, and batches of windows from them.
//
// The split is by position: the last `val_fraction` of the tokens (rounded down) are validation,
// the rest training; no window crosses the boundary. A window is T+1 consecutive tokens starting
// at s; inputs = tokens[s, s+T) and targets = tokens[s+1, s+T+1), both int64 tensors (B, T).
//
// WindowSampler draws each start uniformly from the split with a difft::Generator. The i-th start
// depends only on (seed, offset + i), so saving (seed, offset) and restoring it with set_state
// makes a resumed run draw exactly the windows the uninterrupted run would have.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/text/tokenizer.h"
#include "core/generator.h"
#include "core/tensor.h"

namespace difft::text {

struct TokenRange {
  int64_t begin = 0, end = 0;  // [begin, end) of the token stream
  int64_t size() const { return end - begin; }
};

struct TrainValSplit {
  std::shared_ptr<const std::vector<TokenId>> tokens;
  TokenRange train, val;
};

// Throws difft::Error unless 0 <= val_fraction < 1.
TrainValSplit split_train_val(std::vector<TokenId> tokens, double val_fraction = 0.1);

struct Batch {
  Tensor inputs;                // (B, T) int64
  Tensor targets;               // (B, T) int64, inputs shifted left by one
  std::vector<int64_t> starts;  // where each window begins in the token stream
};

// The windows at `starts` (each needs starts[i] + T + 1 <= tokens.size()).
Batch make_batch(const std::vector<TokenId>& tokens, const std::vector<int64_t>& starts, int64_t context);

// Up to max_windows non-overlapping window starts laid out evenly over the range, in order: a
// fixed set for evaluation (the same every time). Throws like WindowSampler if no window fits.
std::vector<int64_t> eval_starts(const TokenRange& range, int64_t context, int64_t max_windows,
                                 const std::string& split_name = "validation");

struct SamplerState {
  uint64_t seed = 0, offset = 0;
  bool operator==(const SamplerState&) const = default;
};

class WindowSampler {
 public:
  // Throws difft::Error when the range holds fewer than context + 1 tokens.
  WindowSampler(std::shared_ptr<const std::vector<TokenId>> tokens, TokenRange range, int64_t context, uint64_t seed,
                const std::string& split_name = "train");

  Batch next(int64_t batch_size);
  SamplerState state() const { return {gen_.seed(), gen_.offset()}; }
  void set_state(const SamplerState& s) { gen_.set_state(s.seed, s.offset); }
  int64_t context() const { return context_; }
  const TokenRange& range() const { return range_; }

 private:
  std::shared_ptr<const std::vector<TokenId>> tokens_;
  TokenRange range_;
  int64_t context_;
  Generator gen_;
};

}  // namespace difft::text
