// bpe.h: byte-level byte-pair encoding (Sennrich et al. 2016; GPT-2's byte-level variant).
//
// Ids: 0..255 are the bytes; 256 + r is merge r (the concatenation of its pair's tokens), in the
// order training found them; after the merges come the special tokens ("<|endoftext|>"), so
// vocab_size = 256 + merges + specials.
//
// encode: special tokens are matched literally first (pretokenize.h, for_each_segment); the text
// between them is cut into words (for_each_word) and each word, starting from its bytes, applies
// merges by rank: always the lowest-ranked adjacent pair, leftmost first, which reproduces how
// training merged. Words are encoded once per encode() call (a per-call cache keeps it thread-safe).
//
// File (JSON, human-readable, one merge and one token per line):
//   {"type": "difft-bpe", "version": 1, "name": "bpe512", "vocab_size": 512,
//    "pretokenizer": "gpt2-like-bytes-v1",
//    "special_tokens": [{"id": 511, "text": "<|endoftext|>"}],
//    "merges": [[116, 104], [32, 116], ...],            merge r = [left id, right id]
//    "tokens": ["\\x00", ..., "th", " t", ...]}         each id's bytes, escape_bytes form
// On load, merges are the source of truth; "tokens" is checked against them (it is there for people
// to read), as are the counts and ids; any mismatch is reported as a corrupt file.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "apps/text/tokenizer.h"

namespace difft::text {

struct BpeOptions {
  int64_t vocab_size = 512;                 // 256 bytes + merges + special tokens
  std::vector<std::string> special_tokens;  // e.g. {"<|endoftext|>"}; never merged with text
  std::string name;                         // default "bpe<vocab_size>"
  // A pair must occur at least this often (weighted by word counts) to be merged. Training stops
  // early, with a smaller vocabulary, when no pair is left that frequent.
  int64_t min_pair_count = 2;
};

class BpeTokenizer final : public Tokenizer {
 public:
  using Pair = std::pair<TokenId, TokenId>;

  // Checks everything a file could get wrong; `where` names the source in error messages.
  BpeTokenizer(std::string name, std::vector<Pair> merges, std::vector<std::string> special_tokens,
               const std::string& where = "BPE tokenizer");

  std::vector<TokenId> encode(std::string_view text) const override;
  std::string decode(std::span<const TokenId> ids) const override;
  int64_t vocab_size() const override { return int64_t(vocab_.size()); }
  std::string name() const override { return name_; }
  uint64_t fingerprint() const override { return fingerprint_; }
  std::string token_bytes(TokenId id) const override;
  std::optional<TokenId> special_id(std::string_view text) const override;

  const std::vector<Pair>& merges() const { return merges_; }
  const std::vector<std::string>& special_tokens() const { return specials_; }

  // The file content (deterministic; fingerprint() hashes exactly this) and its atomic save/load.
  std::string to_json() const;
  void save(const std::string& path) const;
  static BpeTokenizer load(const std::string& path);
  static BpeTokenizer from_json(std::string_view json, const std::string& where);

 private:
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  std::string name_;
  std::vector<Pair> merges_;
  std::vector<std::string> specials_;
  std::vector<std::string> vocab_;                  // bytes of each id
  std::unordered_map<uint64_t, int32_t> rank_of_;   // pair key -> merge rank
  uint64_t fingerprint_ = 0;
};

// Pair (a, b) as one 64-bit key; the order of keys is the order of (a, b).
inline uint64_t pair_key(TokenId a, TokenId b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

// Trains on text (special tokens in it are cut out first and never merged). Throws difft::Error
// if vocab_size < 256 + number of special tokens.
BpeTokenizer train_bpe(std::string_view text, const BpeOptions& options);

}  // namespace difft::text
