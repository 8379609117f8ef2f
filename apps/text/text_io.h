// text_io.h: small helpers shared by the text library: FNV-1a hashing, whole-file reads.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace difft::text {

// FNV-1a, 64-bit. Not cryptographic: it detects edits and corruption, not tampering. Chain calls
// by passing the previous result as `h`.
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// "0123456789abcdef" form of a 64-bit value (16 digits).
std::string hex64(uint64_t v);

// The whole file as bytes. Throws difft::Error naming `what` (e.g. "text file") and the path when
// it is missing or unreadable.
std::string read_file_bytes(const std::string& path, const std::string& what);

// Same, and an empty file is an error too: a corpus must hold at least one byte.
std::string read_text_file(const std::string& path);

}  // namespace difft::text
