// pretokenize.h: how text is cut into "words" before byte-pair merges, and how special tokens are
// found. BPE merges never cross a word boundary, so this fixes what a token can span.
//
// The rule ("gpt2-like-bytes-v1") follows GPT-2's regex, on bytes instead of Unicode classes:
//   's 't 're 've 'm 'll 'd          ASCII contractions, checked first
//   ␣?letters+   ␣?digits+   ␣?other+   one optional leading space, then a run of one class
//   spaces+ (not the last, when more text follows)   spaces+ (at the end)
// Classes of a byte: space = " \t\n\r\v\f"; digit = 0-9; letter = A-Z, a-z and every byte >= 0x80
// (so a UTF-8 word like "café" or "don’t" stays one word; invalid UTF-8 is fine, it is just bytes);
// other = the rest (punctuation, control bytes, NUL). A run of whitespace followed by text leaves
// its last character to the next word when that is a space (" the"), or as a word of its own
// ("\n"), as GPT-2 does. Concatenating the words gives back the input exactly.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace difft::text {

inline constexpr const char* kPretokenizerName = "gpt2-like-bytes-v1";

// Calls on_word(view) for each word of text, in order; the views point into text.
template <class F>
void for_each_word(std::string_view text, F&& on_word);

// Splits text at literal occurrences of the special tokens (leftmost first; the longest when two
// start at the same byte). Calls on_text(view) for each non-empty stretch between them and
// on_special(index into specials) for each occurrence, in order. No specials: one on_text(text).
template <class T, class S>
void for_each_segment(std::string_view text, const std::vector<std::string>& specials, T&& on_text, S&& on_special);

// ---- implementation -------------------------------------------------------------------------
namespace detail {
enum class ByteClass { Space, Letter, Digit, Other };
inline ByteClass byte_class(unsigned char c) {
  if (c == ' ' || (c >= '\t' && c <= '\r')) return ByteClass::Space;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return ByteClass::Letter;
  if (c >= '0' && c <= '9') return ByteClass::Digit;
  return ByteClass::Other;
}
// Length of the contraction starting at text[i] (text[i] == '\''), or 0.
size_t contraction_length(std::string_view text, size_t i);
}  // namespace detail

template <class F>
void for_each_word(std::string_view text, F&& on_word) {
  using detail::ByteClass;
  const size_t n = text.size();
  auto cls = [&](size_t k) { return detail::byte_class(static_cast<unsigned char>(text[k])); };
  size_t i = 0;
  while (i < n) {
    if (text[i] == '\'') {
      if (const size_t len = detail::contraction_length(text, i)) {
        on_word(text.substr(i, len));
        i += len;
        continue;
      }
    }
    if (cls(i) == ByteClass::Space) {
      size_t j = i;
      while (j < n && cls(j) == ByteClass::Space) ++j;
      if (j == n) {  // trailing whitespace: one word
        on_word(text.substr(i, n - i));
        break;
      }
      if (j - i >= 2) on_word(text.substr(i, j - 1 - i));  // all but the last whitespace byte
      i = j - 1;
      if (text[i] != ' ') {  // a lone "\n" (or tab...) before text is a word of its own
        on_word(text.substr(i, 1));
        ++i;
        continue;
      }
    }
    // Optional leading space, then a run of one class.
    const size_t start = i;
    if (text[i] == ' ') ++i;
    const ByteClass c = cls(i);
    while (i < n && cls(i) == c) ++i;
    on_word(text.substr(start, i - start));
  }
}

template <class T, class S>
void for_each_segment(std::string_view text, const std::vector<std::string>& specials, T&& on_text, S&& on_special) {
  constexpr size_t npos = std::string_view::npos;
  // next[k]: where specials[k] next occurs at or after `pos` (refreshed only when passed).
  std::vector<size_t> next(specials.size(), 0);
  for (size_t k = 0; k < specials.size(); ++k) next[k] = specials[k].empty() ? npos : text.find(specials[k]);
  size_t pos = 0;
  while (true) {
    size_t best = npos, best_k = 0;
    for (size_t k = 0; k < specials.size(); ++k) {
      if (next[k] != npos && next[k] < pos) next[k] = text.find(specials[k], pos);
      if (next[k] == npos) continue;
      if (next[k] < best || (next[k] == best && specials[k].size() > specials[best_k].size())) best = next[k], best_k = k;
    }
    if (best == npos) break;
    if (best > pos) on_text(text.substr(pos, best - pos));
    on_special(best_k);
    pos = best + specials[best_k].size();
  }
  if (pos < text.size()) on_text(text.substr(pos));
}

}  // namespace difft::text
