// bpe.cpp: the BPE tokenizer: construction (with validation), encode, decode, the JSON file.
#include "apps/text/bpe.h"

#include <nlohmann/json.hpp>

#include <queue>
#include <sstream>

#include "apps/text/pretokenize.h"
#include "apps/text/text_io.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace difft::text {
namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kFormatType = "difft-bpe";

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

BpeTokenizer::BpeTokenizer(std::string name, std::vector<Pair> merges, std::vector<std::string> special_tokens,
                           const std::string& where)
    : name_(std::move(name)), merges_(std::move(merges)), specials_(std::move(special_tokens)) {
  DIFFT_CHECK(valid_name(name_), where, ": tokenizer name '", name_,
              "' is not allowed (use 1-64 characters from A-Z a-z 0-9 . _ -)");
  vocab_.reserve(256 + merges_.size() + specials_.size());
  for (int b = 0; b < 256; ++b) vocab_.push_back(std::string(1, char(b)));
  for (size_t r = 0; r < merges_.size(); ++r) {
    const auto [a, b] = merges_[r];
    const TokenId limit = TokenId(256 + r);
    DIFFT_CHECK(a >= 0 && a < limit && b >= 0 && b < limit, where, ": merge ", r, " is [", a, ", ", b,
                "] but its ids must be in [0, ", limit, ") (a merge may only use bytes and earlier merges)");
    DIFFT_CHECK(rank_of_.emplace(pair_key(a, b), int32_t(r)).second, where, ": merge ", r, " [", a, ", ", b,
                "] repeats an earlier merge");
    vocab_.push_back(vocab_[size_t(a)] + vocab_[size_t(b)]);
  }
  for (size_t i = 0; i < specials_.size(); ++i) {
    DIFFT_CHECK(!specials_[i].empty(), where, ": special token ", i, " is empty");
    for (size_t j = 0; j < i; ++j)
      DIFFT_CHECK(specials_[i] != specials_[j], where, ": special token '", escape_bytes(specials_[i]), "' is listed twice");
    vocab_.push_back(specials_[i]);
  }
  fingerprint_ = fnv1a64(to_json());
}

// ---- encode / decode ------------------------------------------------------------------------

// Merges the word's bytes by rank with a min-heap of (rank, position) over a linked list of
// symbols: O(n log n) even for a long word (a megabyte of spaces), where rescanning would be O(n^2).
void BpeTokenizer::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  const int32_t n = int32_t(word.size());
  std::vector<TokenId> sym(size_t(n), 0);
  std::vector<int32_t> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    sym[size_t(i)] = static_cast<unsigned char>(word[size_t(i)]);
    prev[size_t(i)] = i - 1;
    next[size_t(i)] = i + 1 < n ? i + 1 : -1;
  }
  auto rank = [&](int32_t p) -> int32_t {  // rank of the pair starting at symbol p, or -1
    const int32_t q = next[size_t(p)];
    if (q < 0) return -1;
    const auto it = rank_of_.find(pair_key(sym[size_t(p)], sym[size_t(q)]));
    return it == rank_of_.end() ? -1 : it->second;
  };
  using Cand = std::pair<int32_t, int32_t>;  // (rank, position): lowest rank, then leftmost
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const int32_t r = rank(i); r >= 0) heap.push({r, i});
  std::vector<char> alive(size_t(n), 1);
  while (!heap.empty()) {
    const auto [r, p] = heap.top();
    heap.pop();
    if (!alive[size_t(p)] || rank(p) != r) continue;  // stale: p or its neighbour changed
    const int32_t q = next[size_t(p)];
    sym[size_t(p)] = TokenId(256 + r);
    alive[size_t(q)] = 0;
    next[size_t(p)] = next[size_t(q)];
    if (next[size_t(q)] >= 0) prev[size_t(next[size_t(q)])] = p;
    if (prev[size_t(p)] >= 0)
      if (const int32_t rl = rank(prev[size_t(p)]); rl >= 0) heap.push({rl, prev[size_t(p)]});
    if (const int32_t rr = rank(p); rr >= 0) heap.push({rr, p});
  }
  for (int32_t i = 0; i >= 0 && n > 0; i = next[size_t(i)]) out.push_back(sym[size_t(i)]);
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 2 + 1);
  std::unordered_map<std::string_view, std::vector<TokenId>> cache;  // this call's words
  const TokenId first_special = TokenId(256 + merges_.size());
  auto on_word = [&](std::string_view w) {
    if (w.size() == 1) {
      out.push_back(static_cast<unsigned char>(w[0]));
      return;
    }
    auto [it, fresh] = cache.try_emplace(w);
    if (fresh) encode_word(w, it->second);
    out.insert(out.end(), it->second.begin(), it->second.end());
  };
  for_each_segment(
      text, specials_, [&](std::string_view seg) { for_each_word(seg, on_word); },
      [&](size_t k) { out.push_back(first_special + TokenId(k)); });
  return out;
}

std::string BpeTokenizer::decode(std::span<const TokenId> ids) const {
  std::string out;
  out.reserve(ids.size() * 3);
  for (size_t i = 0; i < ids.size(); ++i) {
    DIFFT_CHECK(ids[i] >= 0 && ids[i] < TokenId(vocab_.size()), "decode: token id ", ids[i], " at position ", i,
                " is outside the vocabulary of tokenizer '", name_, "' [0, ", vocab_.size(), ")");
    out += vocab_[size_t(ids[i])];
  }
  return out;
}

std::string BpeTokenizer::token_bytes(TokenId id) const {
  DIFFT_CHECK(id >= 0 && id < TokenId(vocab_.size()), "token_bytes: id ", id, " is outside the vocabulary of tokenizer '",
              name_, "' [0, ", vocab_.size(), ")");
  return vocab_[size_t(id)];
}

std::optional<TokenId> BpeTokenizer::special_id(std::string_view text) const {
  for (size_t k = 0; k < specials_.size(); ++k)
    if (specials_[k] == text) return TokenId(256 + merges_.size() + k);
  return std::nullopt;
}

// ---- the file -------------------------------------------------------------------------------

std::string BpeTokenizer::to_json() const {
  using nlohmann::json;
  std::ostringstream os;
  os << "{\n  \"type\": \"" << kFormatType << "\",\n  \"version\": " << kFormatVersion << ",\n  \"name\": "
     << json(name_).dump() << ",\n  \"vocab_size\": " << vocab_.size() << ",\n  \"pretokenizer\": \""
     << kPretokenizerName << "\",\n  \"special_tokens\": [";
  for (size_t k = 0; k < specials_.size(); ++k)
    os << (k ? ",\n" : "\n") << "    {\"id\": " << 256 + merges_.size() + k
       << ", \"text\": " << json(escape_bytes(specials_[k])).dump() << "}";
  os << (specials_.empty() ? "" : "\n  ") << "],\n  \"merges\": [";
  for (size_t r = 0; r < merges_.size(); ++r)
    os << (r ? ",\n" : "\n") << "    [" << merges_[r].first << ", " << merges_[r].second << "]";
  os << (merges_.empty() ? "" : "\n  ") << "],\n  \"tokens\": [";
  for (size_t i = 0; i < vocab_.size(); ++i) os << (i ? ",\n" : "\n") << "    " << json(escape_bytes(vocab_[i])).dump();
  os << "\n  ]\n}\n";
  return os.str();
}

void BpeTokenizer::save(const std::string& path) const { write_file_atomic(path, to_json()); }

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  return from_json(read_file_bytes(path, "tokenizer file"), "tokenizer file '" + path + "'");
}

BpeTokenizer BpeTokenizer::from_json(std::string_view text, const std::string& where) {
  using nlohmann::json;
  auto corrupt = [&](const std::string& why) {
    return Error(where + " is corrupt: " + why + " (train a new tokenizer, or use 'byte')");
  };
  const json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw corrupt("it is not valid JSON");
  if (!j.is_object()) throw corrupt("the top level is not a JSON object");
  auto field = [&](const char* key) -> const json& {
    if (!j.contains(key)) throw corrupt(std::string("field \"") + key + "\" is missing");
    return j.at(key);
  };
  auto integer = [&](const json& v, const std::string& what) -> int64_t {
    if (!v.is_number_integer()) throw corrupt(what + " is not an integer");
    return v.get<int64_t>();
  };
  if (field("type") != kFormatType) throw corrupt("\"type\" is not \"difft-bpe\"");
  const int64_t version = integer(field("version"), "\"version\"");
  if (version != kFormatVersion)
    throw corrupt("format version " + std::to_string(version) + " is not supported (this difft reads version " +
                  std::to_string(kFormatVersion) + ")");
  if (field("pretokenizer") != kPretokenizerName)
    throw corrupt(std::string("\"pretokenizer\" is not \"") + kPretokenizerName + "\"");
  if (!field("name").is_string()) throw corrupt("\"name\" is not a string");

  const json& jm = field("merges");
  if (!jm.is_array()) throw corrupt("\"merges\" is not an array");
  std::vector<Pair> merges;
  for (size_t r = 0; r < jm.size(); ++r) {
    const std::string what = "merge " + std::to_string(r);
    if (!jm[r].is_array() || jm[r].size() != 2) throw corrupt(what + " is not a [left, right] pair");
    const int64_t a = integer(jm[r][0], what), b = integer(jm[r][1], what);
    if (a < 0 || b < 0 || a >= int64_t(256 + r) || b >= int64_t(256 + r))
      throw corrupt(what + " is [" + std::to_string(a) + ", " + std::to_string(b) + "], ids outside [0, " +
                    std::to_string(256 + r) + ")");
    merges.push_back({TokenId(a), TokenId(b)});
  }
  const json& js = field("special_tokens");
  if (!js.is_array()) throw corrupt("\"special_tokens\" is not an array");
  std::vector<std::string> specials;
  for (size_t k = 0; k < js.size(); ++k) {
    const std::string what = "special token " + std::to_string(k);
    if (!js[k].is_object() || !js[k].contains("text") || !js[k]["text"].is_string() || !js[k].contains("id"))
      throw corrupt(what + " is not {\"id\": ..., \"text\": \"...\"}");
    const auto bytes = unescape_bytes(js[k]["text"].get<std::string>());
    if (!bytes) throw corrupt(what + " has a malformed escape");
    if (integer(js[k]["id"], what + "'s id") != int64_t(256 + merges.size() + k))
      throw corrupt(what + "'s id is not " + std::to_string(256 + merges.size() + k) + " (256 + merges + its index)");
    specials.push_back(*bytes);
  }
  const int64_t vocab = integer(field("vocab_size"), "\"vocab_size\"");
  if (vocab != int64_t(256 + merges.size() + specials.size()))
    throw corrupt("\"vocab_size\" is " + std::to_string(vocab) + " but 256 + " + std::to_string(merges.size()) +
                  " merges + " + std::to_string(specials.size()) + " special tokens = " +
                  std::to_string(256 + merges.size() + specials.size()));

  BpeTokenizer tok = [&] {
    try {
      return BpeTokenizer(j["name"].get<std::string>(), std::move(merges), std::move(specials), where + " is corrupt");
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (train a new tokenizer, or use 'byte')");
    }
  }();
  if (j.contains("tokens")) {  // for reading; must agree with the merges
    const json& jt = j["tokens"];
    if (!jt.is_array() || int64_t(jt.size()) != vocab) throw corrupt("\"tokens\" does not list one string per id");
    for (size_t i = 0; i < jt.size(); ++i) {
      const auto bytes = jt[i].is_string() ? unescape_bytes(jt[i].get<std::string>()) : std::nullopt;
      if (!bytes || *bytes != tok.vocab_[i])
        throw corrupt("token " + std::to_string(i) + " in \"tokens\" does not match what the merges give ('" +
                      escape_bytes(tok.vocab_[i]) + "')");
    }
  }
  return tok;
}

}  // namespace difft::text
