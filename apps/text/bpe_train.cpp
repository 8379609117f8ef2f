// bpe_train.cpp: learning BPE merges from a corpus.
//
// The corpus is reduced to a table of distinct words with their counts (pretokenize.h), so a merge
// only has to touch the distinct words that contain its pair, not the text. Three structures stay
// in step as merges are applied:
//   count[pair]   how often the pair occurs, weighted by word counts
//   where[pair]   indices of words that contain (or once contained) the pair; stale entries are
//                 harmless, a word is re-scanned and found not to contain it
//   heap          (count, pair) entries; an entry whose count no longer matches count[pair] is
//                 stale and skipped when popped (lazy deletion). Every change of a count pushes a
//                 fresh entry, so the current count of every pair is always in the heap.
// One merge costs O(sum of the lengths of the words containing the pair), never a corpus rescan.
// Ties between equally frequent pairs go to the smaller (left id, right id): deterministic.
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "apps/text/bpe.h"
#include "apps/text/pretokenize.h"
#include "core/error.h"

namespace difft::text {
namespace {

struct WordTable {
  std::vector<std::vector<TokenId>> symbols;  // each distinct word, as token ids
  std::vector<int64_t> count;                 // how often it occurs
};

WordTable count_words(std::string_view text, const std::vector<std::string>& specials) {
  std::unordered_map<std::string_view, int64_t> freq;
  for_each_segment(
      text, specials, [&](std::string_view seg) { for_each_word(seg, [&](std::string_view w) { ++freq[w]; }); },
      [](size_t) {});
  // Sorted so that the table (and any debugging of it) does not depend on hash order.
  std::vector<std::pair<std::string_view, int64_t>> sorted(freq.begin(), freq.end());
  std::sort(sorted.begin(), sorted.end());
  WordTable t;
  for (const auto& [w, c] : sorted) {
    std::vector<TokenId> s(w.size());
    for (size_t i = 0; i < w.size(); ++i) s[i] = static_cast<unsigned char>(w[i]);
    t.symbols.push_back(std::move(s));
    t.count.push_back(c);
  }
  return t;
}

struct HeapEntry {
  int64_t count;
  uint64_t key;
  // std::priority_queue pops the largest: higher count first, then the smaller pair.
  bool operator<(const HeapEntry& o) const { return count < o.count || (count == o.count && key > o.key); }
};

// Replaces each (a, b) in w, left to right without overlap, by `merged`. Appends to `delta` the
// per-pair changes of this one word (-1 for each pair before, +1 for each pair after); pairs that
// did not change cancel out when the caller sums them. Nothing is appended if (a, b) is absent.
void merge_word(std::vector<TokenId>& w, TokenId a, TokenId b, TokenId merged,
                std::vector<std::pair<uint64_t, int64_t>>& delta) {
  const size_t n = w.size();
  bool found = false;
  for (size_t i = 0; i + 1 < n && !found; ++i) found = w[i] == a && w[i + 1] == b;
  if (!found) return;
  for (size_t i = 0; i + 1 < n; ++i) delta.push_back({pair_key(w[i], w[i + 1]), -1});
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (i + 1 < n && w[i] == a && w[i + 1] == b) {
      w[j++] = merged;
      i += 2;
    } else {
      w[j++] = w[i++];
    }
  }
  w.resize(j);
  for (size_t i = 0; i + 1 < j; ++i) delta.push_back({pair_key(w[i], w[i + 1]), +1});
}

class PairIndex {
 public:
  explicit PairIndex(const WordTable& t) {
    for (size_t w = 0; w < t.symbols.size(); ++w) {
      const auto& s = t.symbols[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = pair_key(s[i], s[i + 1]);
        count_[k] += t.count[w];
        auto& list = where_[k];
        if (list.empty() || list.back() != int32_t(w)) list.push_back(int32_t(w));
      }
    }
    for (const auto& [k, c] : count_) heap_.push({c, k});
    visited_.assign(t.symbols.size(), -1);
  }

  // The most frequent pair with its count, or count 0 when none is left.
  HeapEntry best() {
    while (!heap_.empty()) {
      const HeapEntry e = heap_.top();
      const auto it = count_.find(e.key);
      if (it != count_.end() && it->second == e.count) return e;
      heap_.pop();  // stale
    }
    return {0, 0};
  }

  // Applies merge (a, b) -> merged to every word that contains it and updates counts and heap.
  void apply(WordTable& t, TokenId a, TokenId b, TokenId merged) {
    const uint64_t key = pair_key(a, b);
    const std::vector<int32_t> words = std::move(where_[key]);
    where_.erase(key);
    touched_.clear();
    for (const int32_t w : words) {
      if (visited_[size_t(w)] == merged) continue;  // listed twice
      visited_[size_t(w)] = merged;
      delta_.clear();
      merge_word(t.symbols[size_t(w)], a, b, merged, delta_);
      std::sort(delta_.begin(), delta_.end());
      for (size_t i = 0; i < delta_.size();) {  // sum the changes of each pair
        size_t j = i;
        int64_t d = 0;
        for (; j < delta_.size() && delta_[j].first == delta_[i].first; ++j) d += delta_[j].second;
        if (d != 0) {
          count_[delta_[i].first] += d * t.count[size_t(w)];
          touched_.push_back(delta_[i].first);
          if (d > 0) where_[delta_[i].first].push_back(w);
        }
        i = j;
      }
    }
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (const uint64_t k : touched_) {
      const int64_t c = count_[k];
      DIFFT_CHECK(c >= 0, "train_bpe: internal error: negative pair count");
      if (c > 0) {
        heap_.push({c, k});
      } else {
        count_.erase(k);
        where_.erase(k);  // no word holds the pair any more
      }
    }
    DIFFT_CHECK(!count_.contains(key), "train_bpe: internal error: merged pair still counted");
  }

 private:
  std::unordered_map<uint64_t, int64_t> count_;
  std::unordered_map<uint64_t, std::vector<int32_t>> where_;
  std::priority_queue<HeapEntry> heap_;
  std::vector<TokenId> visited_;  // per word: the last merge that scanned it
  std::vector<std::pair<uint64_t, int64_t>> delta_;
  std::vector<uint64_t> touched_;
};

}  // namespace

BpeTokenizer train_bpe(std::string_view text, const BpeOptions& options) {
  const int64_t n_special = int64_t(options.special_tokens.size());
  DIFFT_CHECK(options.vocab_size >= 256 + n_special, "train_bpe: vocab size ", options.vocab_size,
              " is too small: it must be at least 256 (the bytes) + ", n_special,
              " special token(s) = ", 256 + n_special, " (ask for a larger vocab size)");
  DIFFT_CHECK(options.vocab_size <= (int64_t(1) << 30), "train_bpe: vocab size ", options.vocab_size,
              " is too large (at most 2^30)");
  DIFFT_CHECK(options.min_pair_count >= 1, "train_bpe: min_pair_count must be >= 1, got ", options.min_pair_count);
  const int64_t n_merges = options.vocab_size - 256 - n_special;

  WordTable words = count_words(text, options.special_tokens);
  PairIndex index(words);
  std::vector<BpeTokenizer::Pair> merges;
  merges.reserve(size_t(n_merges));
  while (int64_t(merges.size()) < n_merges) {
    const HeapEntry e = index.best();
    if (e.count < options.min_pair_count) break;  // nothing frequent enough is left
    const TokenId a = TokenId(e.key >> 32), b = TokenId(e.key & 0xffffffffu);
    const TokenId merged = TokenId(256 + merges.size());
    merges.push_back({a, b});
    index.apply(words, a, b, merged);
  }
  const int64_t vocab = 256 + int64_t(merges.size()) + n_special;  // smaller if training stopped early
  const std::string name = options.name.empty() ? "bpe" + std::to_string(vocab) : options.name;
  return BpeTokenizer(name, std::move(merges), options.special_tokens, "train_bpe");
}

}  // namespace difft::text
