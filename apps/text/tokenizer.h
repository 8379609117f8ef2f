// tokenizer.h: text <-> token ids. Two tokenizers share one interface:
//   "byte": each byte is its own token (vocab 256); no special tokens, so a document separator like
//           "<|endoftext|>" stays as its 13 literal bytes.
//   BPE:    byte-level byte-pair encoding trained from a corpus (apps/text/bpe.h), saved as JSON.
// For both, decode(encode(s)) == s for every byte string s: invalid UTF-8, NUL bytes, empty input.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace difft::text {

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<TokenId> encode(std::string_view text) const = 0;
  // Throws difft::Error for an id outside [0, vocab_size()).
  virtual std::string decode(std::span<const TokenId> ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Short name used in cache headers and file names, e.g. "byte" or "bpe512".
  virtual std::string name() const = 0;
  // Identifies the exact tokenizer: FNV-1a 64 of its canonical file content (what save writes), so
  // a retrained or edited tokenizer with the same name still gets a different fingerprint.
  virtual uint64_t fingerprint() const = 0;
  // The bytes token `id` stands for (a special token's literal text).
  virtual std::string token_bytes(TokenId id) const = 0;
  // The id of a special token such as "<|endoftext|>", if this tokenizer has it.
  virtual std::optional<TokenId> special_id(std::string_view text) const { (void)text; return std::nullopt; }
};

class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text) const override;
  std::string decode(std::span<const TokenId> ids) const override;
  int64_t vocab_size() const override { return 256; }
  std::string name() const override { return "byte"; }
  uint64_t fingerprint() const override;
  std::string token_bytes(TokenId id) const override;
};

// "byte" gives the byte tokenizer; anything else is read as a tokenizer JSON file (bpe.h's
// format). Throws difft::Error for a missing or corrupt file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& name_or_path);

// Escapes bytes for display: printable ASCII as is, backslash as "\\", the rest as "\xHH".
std::string escape_bytes(std::string_view bytes);
// The inverse; std::nullopt for a malformed escape.
std::optional<std::string> unescape_bytes(std::string_view s);

}  // namespace difft::text
