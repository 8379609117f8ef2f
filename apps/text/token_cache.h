// token_cache.h: a text file tokenized once, kept as a binary token file, reused while it matches.
//
// Layout (all integers little-endian):
//   0   "DIFFTTOK"                     magic, 8 bytes
//   8   u32 format version (1)
//   12  u32 bytes per token: 2 (u16, vocab <= 65536) or 4 (u32)
//   16  u64 tokenizer fingerprint      Tokenizer::fingerprint(), FNV-1a 64 of its file content
//   24  u64 source size in bytes
//   32  i64 source mtime (ns, file clock)
//   40  u64 source content hash        FNV-1a 64 of the source bytes
//   48  u64 token count
//   56  u64 token data hash            FNV-1a 64 of the token bytes that follow the header
//   64  u32 tokenizer name length L, then L bytes of the name
//   68+L  the tokens
// A cache is reused only if every check passes: magic, version, token width, exact file length,
// tokenizer name and fingerprint, source size and content hash, token data hash, ids < vocab size.
// Anything else (a foreign, truncated, stale or corrupt file) is rebuilt, never misread. The
// source's mtime is recorded for people but not compared: the content hash decides, so touching or
// copying the source does not force a retokenization. Writes are atomic (write_file_atomic).
#pragma once
#include <string>
#include <vector>

#include "apps/text/tokenizer.h"

namespace difft::text {

struct TokenFile {
  std::vector<TokenId> tokens;
  std::string path;     // the cache file
  bool built = false;   // true: tokenized now; false: read from the cache
  std::string reason;   // why it was built: "no cache file", "source changed", ...
  double seconds = 0;   // time spent (reading or tokenizing and writing)
};

// Where the cache of `source` for `tok` lives in cache_dir: "<file name>-<path hash>.<tokenizer
// name>-<fingerprint>.tok", so different sources and tokenizers never share a file.
std::string cache_path_for(const std::string& source, const Tokenizer& tok, const std::string& cache_dir);

// The tokens of the text file `source`: read from cache_path when it is valid, otherwise the source
// is tokenized and cache_path (re)written (its folder is created). Throws difft::Error for a
// missing or empty source, or an unwritable cache folder.
TokenFile load_or_build_tokens(const std::string& source, const Tokenizer& tok, const std::string& cache_path);

}  // namespace difft::text
