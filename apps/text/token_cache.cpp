// token_cache.cpp: see token_cache.h for the file layout and the validity rules.
#include "apps/text/token_cache.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include "apps/text/text_io.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace difft::text {
namespace {

constexpr char kMagic[8] = {'D', 'I', 'F', 'F', 'T', 'T', 'O', 'K'};
constexpr uint32_t kVersion = 1;
constexpr size_t kFixedHeader = 68;

struct Header {
  uint32_t version = kVersion, width = 0;
  uint64_t fingerprint = 0, source_size = 0;
  int64_t source_mtime = 0;
  uint64_t source_hash = 0, count = 0, data_hash = 0;
  std::string name;
};

void put(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char((v >> (8 * i)) & 0xff);
}
uint64_t get(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<unsigned char>(in[at + size_t(i)])) << (8 * i);
  return v;
}

std::string encode_file(const Header& h, const std::vector<TokenId>& tokens) {
  std::string data;
  data.reserve(tokens.size() * h.width);
  for (const TokenId t : tokens) put(data, uint32_t(t), int(h.width));
  std::string out(kMagic, 8);
  put(out, h.version, 4);
  put(out, h.width, 4);
  put(out, h.fingerprint, 8);
  put(out, h.source_size, 8);
  put(out, uint64_t(h.source_mtime), 8);
  put(out, h.source_hash, 8);
  put(out, tokens.size(), 8);
  put(out, fnv1a64(data), 8);
  put(out, h.name.size(), 4);
  return out + h.name + data;
}

// The tokens of `file` if it is a valid cache for `want`; otherwise nullopt and why in `reason`.
std::optional<std::vector<TokenId>> decode_file(const std::string& file, const Header& want, int64_t vocab,
                                                std::string& reason) {
  auto fail = [&](std::string why) {
    reason = std::move(why);
    return std::nullopt;
  };
  if (std::memcmp(file.data(), kMagic, std::min<size_t>(8, file.size())) != 0) return fail("bad magic (not a difft token file)");
  if (file.size() < kFixedHeader) return fail("cache file truncated (shorter than its header)");
  Header h;
  h.version = uint32_t(get(file, 8, 4));
  h.width = uint32_t(get(file, 12, 4));
  h.fingerprint = get(file, 16, 8);
  h.source_size = get(file, 24, 8);
  h.source_hash = get(file, 40, 8);
  h.count = get(file, 48, 8);
  h.data_hash = get(file, 56, 8);
  const uint64_t name_len = get(file, 64, 4);
  if (h.version != kVersion) return fail("cache format version " + std::to_string(h.version) + " (this difft writes " + std::to_string(kVersion) + ")");
  if (h.width != 2 && h.width != 4) return fail("bad token width " + std::to_string(h.width));
  if (name_len > file.size() - kFixedHeader) return fail("cache file truncated (in its header)");
  h.name = file.substr(kFixedHeader, size_t(name_len));
  const uint64_t begin = kFixedHeader + name_len;
  if (h.count > (file.size() - begin) / h.width || begin + h.count * h.width != file.size())
    return fail("cache file truncated or padded (" + std::to_string(file.size()) + " bytes for " +
                    std::to_string(h.count) + " tokens)");
  if (h.name != want.name || h.fingerprint != want.fingerprint || h.width != want.width)
    return fail("tokenizer differs (cache was built with '" + h.name + "' " + hex64(h.fingerprint) +
                    ", now '" + want.name + "' " + hex64(want.fingerprint) + ")");
  if (h.source_size != want.source_size || h.source_hash != want.source_hash)
    return fail("source changed since the cache was built");
  const std::string_view data(file.data() + begin, file.size() - begin);
  if (fnv1a64(data) != h.data_hash) return fail("token data corrupt (hash mismatch)");
  std::vector<TokenId> tokens(size_t(h.count));
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint64_t t = get(file, size_t(begin) + i * h.width, int(h.width));
    if (int64_t(t) >= vocab) return fail("token id " + std::to_string(t) + " outside the vocabulary");
    tokens[i] = TokenId(t);
  }
  return tokens;
}

}  // namespace

std::string cache_path_for(const std::string& source, const Tokenizer& tok, const std::string& cache_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path abs = fs::absolute(source, ec);
  if (ec) abs = source;
  const std::string file = fs::path(source).filename().string() + "-" + hex64(fnv1a64(abs.lexically_normal().string())).substr(0, 8) +
                           "." + tok.name() + "-" + hex64(tok.fingerprint()).substr(0, 8) + ".tok";
  return (fs::path(cache_dir.empty() ? "." : cache_dir) / file).string();
}

TokenFile load_or_build_tokens(const std::string& source, const Tokenizer& tok, const std::string& cache_path) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string text = read_text_file(source);
  Header want;
  want.width = tok.vocab_size() <= 65536 ? 2 : 4;
  want.fingerprint = tok.fingerprint();
  want.source_size = text.size();
  std::error_code ec;
  const auto mtime = fs::last_write_time(source, ec);
  want.source_mtime = ec ? 0 : int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
  want.source_hash = fnv1a64(text);
  want.name = tok.name();

  TokenFile out;
  out.path = cache_path;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (fs::exists(cache_path, ec)) {
    const std::string file = read_file_bytes(cache_path, "token cache");
    if (auto tokens = decode_file(file, want, tok.vocab_size(), out.reason)) {
      out.tokens = std::move(*tokens);
      out.seconds = elapsed();
      return out;
    }
  } else {
    out.reason = "no cache file";
  }
  out.built = true;
  out.tokens = tok.encode(text);
  const fs::path dir = fs::path(cache_path).parent_path();
  if (!dir.empty()) {
    fs::create_directories(dir, ec);
    DIFFT_CHECK(!ec, "token cache: cannot create folder '", dir.string(), "': ", ec.message(), " (choose a writable cache folder)");
  }
  write_file_atomic(cache_path, encode_file(want, out.tokens));
  out.seconds = elapsed();
  return out;
}

}  // namespace difft::text
