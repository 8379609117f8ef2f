// tokenizer.cpp: the byte tokenizer, byte escaping, and load_tokenizer.
#include "apps/text/tokenizer.h"

#include <filesystem>

#include "apps/text/bpe.h"
#include "apps/text/text_io.h"
#include "core/error.h"

namespace difft::text {

std::vector<TokenId> ByteTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(std::span<const TokenId> ids) const {
  std::string out(ids.size(), '\0');
  for (size_t i = 0; i < ids.size(); ++i) {
    DIFFT_CHECK(ids[i] >= 0 && ids[i] < 256, "decode: token id ", ids[i], " at position ", i,
                " is outside the byte tokenizer's vocabulary [0, 256)");
    out[i] = static_cast<char>(ids[i]);
  }
  return out;
}

uint64_t ByteTokenizer::fingerprint() const { return fnv1a64("difft byte tokenizer v1"); }

std::string ByteTokenizer::token_bytes(TokenId id) const {
  DIFFT_CHECK(id >= 0 && id < 256, "token_bytes: id ", id, " is outside the byte tokenizer's vocabulary [0, 256)");
  return std::string(1, static_cast<char>(id));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& name_or_path) {
  if (name_or_path == "byte") return std::make_unique<ByteTokenizer>();
  std::error_code ec;
  DIFFT_CHECK(std::filesystem::exists(name_or_path, ec), "tokenizer '", name_or_path,
              "' is neither 'byte' nor an existing file (give 'byte' or the path of a BPE tokenizer JSON file)");
  return std::make_unique<BpeTokenizer>(BpeTokenizer::load(name_or_path));
}

std::string escape_bytes(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::optional<std::string> unescape_bytes(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
      out += char(hex(s[i + 2]) * 16 + hex(s[i + 3]));
      i += 3;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace difft::text
