// dataset.cpp: see dataset.h.
#include "apps/text/dataset.h"

#include <algorithm>

#include "core/error.h"

namespace difft::text {
namespace {

void check_fits(const TokenRange& range, int64_t context, const std::string& split_name) {
  DIFFT_CHECK(context >= 1, "text data: context length must be >= 1, got ", context);
  DIFFT_CHECK(range.size() >= context + 1, "text data: the ", split_name, " split holds ", range.size(),
              " tokens, fewer than one window of context + 1 = ", context + 1,
              " (use a shorter context, a larger corpus, or a different validation fraction)");
}

}  // namespace

TrainValSplit split_train_val(std::vector<TokenId> tokens, double val_fraction) {
  DIFFT_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "text data: validation fraction must be in [0, 1), got ",
              val_fraction);
  const int64_t n = int64_t(tokens.size());
  const int64_t n_val = std::min(n, int64_t(double(n) * val_fraction));
  TrainValSplit s;
  s.train = {0, n - n_val};
  s.val = {n - n_val, n};
  s.tokens = std::make_shared<const std::vector<TokenId>>(std::move(tokens));
  return s;
}

Batch make_batch(const std::vector<TokenId>& tokens, const std::vector<int64_t>& starts, int64_t context) {
  const int64_t B = int64_t(starts.size()), T = context;
  std::vector<int64_t> x(size_t(B * T)), y(size_t(B * T));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t s = starts[size_t(b)];
    DIFFT_CHECK(s >= 0 && s + T + 1 <= int64_t(tokens.size()), "make_batch: window at ", s, " of length ", T + 1,
                " runs past the ", tokens.size(), " tokens");
    for (int64_t t = 0; t < T; ++t) {
      x[size_t(b * T + t)] = tokens[size_t(s + t)];
      y[size_t(b * T + t)] = tokens[size_t(s + t + 1)];
    }
  }
  Batch batch;
  batch.inputs = from_vector(x, {B, T}, {DType::Int64});
  batch.targets = from_vector(y, {B, T}, {DType::Int64});
  batch.starts = starts;
  return batch;
}

std::vector<int64_t> eval_starts(const TokenRange& range, int64_t context, int64_t max_windows,
                                 const std::string& split_name) {
  check_fits(range, context, split_name);
  DIFFT_CHECK(max_windows >= 1, "eval_starts: max_windows must be >= 1, got ", max_windows);
  const int64_t fit = range.size() / (context + 1);  // non-overlapping windows that fit
  const int64_t n = std::min(fit, max_windows);
  // Spread n windows over the range: window i starts at begin + i * stride, stride >= T + 1.
  const int64_t stride = (range.size() - (context + 1)) / std::max<int64_t>(n - 1, 1);
  std::vector<int64_t> starts(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) starts[size_t(i)] = range.begin + i * stride;
  return starts;
}

WindowSampler::WindowSampler(std::shared_ptr<const std::vector<TokenId>> tokens, TokenRange range, int64_t context,
                             uint64_t seed, const std::string& split_name)
    : tokens_(std::move(tokens)), range_(range), context_(context), gen_(seed) {
  DIFFT_CHECK(tokens_ != nullptr, "WindowSampler: no tokens");
  DIFFT_CHECK(range.begin >= 0 && range.begin <= range.end && range.end <= int64_t(tokens_->size()),
              "WindowSampler: range [", range.begin, ", ", range.end, ") is outside the ", tokens_->size(), " tokens");
  check_fits(range, context, split_name);
}

Batch WindowSampler::next(int64_t batch_size) {
  DIFFT_CHECK(batch_size >= 1, "WindowSampler: batch size must be >= 1, got ", batch_size);
  const int64_t n_starts = range_.size() - context_;  // starts in [begin, end - T - 1]
  std::vector<int64_t> starts(static_cast<size_t>(batch_size));
  const uint64_t first = gen_.reserve(uint64_t(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    const double u = Generator::uniform(gen_.seed(), first + uint64_t(b));
    starts[size_t(b)] = range_.begin + std::min(int64_t(u * double(n_starts)), n_starts - 1);
  }
  return make_batch(*tokens_, starts, context_);
}

}  // namespace difft::text
