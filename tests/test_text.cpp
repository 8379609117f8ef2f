// test_text.cpp: the text side of training (apps/text/): tokenizers, the token cache, windows.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "apps/text/bpe.h"
#include "apps/text/dataset.h"
#include "apps/text/pretokenize.h"
#include "apps/text/text_io.h"
#include "apps/text/token_cache.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::text;
namespace fs = std::filesystem;

namespace {

const std::string kShakespeare = std::string(DIFFT_SOURCE_DIR) + "/data/tinyshakespeare.txt";

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = char(rng() & 0xff);
  return s;
}

// Inputs that break naive tokenizers: empty, NUL, invalid UTF-8, long runs, partial specials.
std::vector<std::string> hard_inputs() {
  std::vector<std::string> v = {"", std::string(1, '\0'), std::string("a\0b\0\0c", 6), "\xff\xfe\x80\xc3", "\xc3\x28 caf\xc3\xa9",
                                "   ", "\n\n\n", " \t\n x", "it's don't we'll 'tis 're", "12345 678.9", "<|endoftext|>",
                                "<|endoftext", "a<|endoftext|><|endoftext|>b", "endoftext|>", std::string(20000, ' '),
                                std::string(5000, 'a') + std::string(5000, 'e'), "\r\n\r\nx\r\n"};
  for (uint64_t seed = 0; seed < 20; ++seed) v.push_back(random_bytes(size_t(seed * 97 + 1), seed));
  v.push_back(random_bytes(100000, 99));
  return v;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> w;
  for_each_word(text, [&](std::string_view s) { w.emplace_back(s); });
  return w;
}

// The textbook way to apply merges: repeatedly merge every occurrence (left to right) of the
// lowest-ranked adjacent pair. Slow, but obviously right; BpeTokenizer must agree with it.
std::vector<TokenId> reference_encode_word(const BpeTokenizer& tok, std::string_view word) {
  std::map<std::pair<TokenId, TokenId>, int> rank;
  for (size_t r = 0; r < tok.merges().size(); ++r) rank[tok.merges()[r]] = int(r);
  std::vector<TokenId> s;
  for (unsigned char c : word) s.push_back(c);
  while (true) {
    int best = -1;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) return s;
    const auto [a, b] = tok.merges()[size_t(best)];
    std::vector<TokenId> t;
    for (size_t i = 0; i < s.size();) {
      if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) t.push_back(256 + best), i += 2;
      else t.push_back(s[i++]);
    }
    s = t;
  }
}

// A fresh folder under the system temp folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("difft_test_text_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

BpeOptions bpe_options(int64_t vocab, std::vector<std::string> specials = {}, std::string name = "", int64_t min_count = 2) {
  BpeOptions o;
  o.vocab_size = vocab;
  o.special_tokens = std::move(specials);
  o.name = std::move(name);
  o.min_pair_count = min_count;
  return o;
}

// Trained once for all tests that need a real tokenizer.
const BpeTokenizer& shakespeare_bpe() {
  static const BpeTokenizer tok = [] {
    const std::string text = read_text_file(kShakespeare);
    const auto t0 = std::chrono::steady_clock::now();
    BpeTokenizer t = train_bpe(text, bpe_options(512, {"<|endoftext|>"}));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("BPE training on tinyshakespeare (" << text.size() << " bytes) to vocab 512: " << s << " s");
    return t;
  }();
  return tok;
}

}  // namespace

TEST_CASE("byte tokenizer: ids are the bytes, and every byte string round-trips") {
  ByteTokenizer tok;
  CHECK(tok.vocab_size() == 256);
  CHECK(tok.name() == "byte");
  CHECK(tok.encode(std::string("A\0\xff", 3)) == std::vector<TokenId>{65, 0, 255});
  for (const std::string& s : hard_inputs()) CHECK(tok.decode(tok.encode(s)) == s);
  CHECK(tok.encode("<|endoftext|>").size() == 13);  // no special tokens: the literal bytes stay
  CHECK_FALSE(tok.special_id("<|endoftext|>").has_value());
  CHECK_THROWS_WITH_PART(tok.decode(std::vector<TokenId>{1, 256}), "outside the byte tokenizer's vocabulary");
  CHECK_THROWS_WITH_PART(tok.decode(std::vector<TokenId>{-1}), "token id -1 at position 0");
}

TEST_CASE("pretokenizer: GPT-2-like words that concatenate back to the input") {
  CHECK(words_of("Hello world's  end\n\nok 42x!?") ==
        std::vector<std::string>{"Hello", " world", "'s", " ", " end", "\n", "\n", "ok", " 42", "x", "!?"});
  CHECK(words_of("a   b") == std::vector<std::string>{"a", "  ", " b"});
  CHECK(words_of("x \n") == std::vector<std::string>{"x", " \n"});  // trailing whitespace: one word
  CHECK(words_of("caf\xc3\xa9 na\xc3\xafve") == std::vector<std::string>{"caf\xc3\xa9", " na\xc3\xafve"});
  CHECK(words_of("we'll 'hi") == std::vector<std::string>{"we", "'ll", " '", "hi"});
  CHECK(words_of("").empty());
  for (const std::string& s : hard_inputs()) {
    std::string joined;
    for (const std::string& w : words_of(s)) {
      CHECK_FALSE(w.empty());
      joined += w;
    }
    CHECK(joined == s);
  }
}

TEST_CASE("special tokens are cut out first, leftmost, longest at the same byte") {
  std::vector<std::string> parts;
  for_each_segment(
      "x<|a|>y<|a|>zz<|a|><|a|>", {"<|a|>", "<|a|>z"}, [&](std::string_view t) { parts.emplace_back(t); },
      [&](size_t k) { parts.push_back(std::string(1, '#') += std::to_string(k)); });
  CHECK(parts == std::vector<std::string>{"x", "#0", "y", "#1", "z", "#0", "#0"});
}

TEST_CASE("BPE training on small texts gives the hand-computed merges") {
  // "aaabdaaabac" (one word). Pair counts: aa 4, ab 2, rest 1 -> merge (a, a) = 256; left to
  // right "aaab" becomes [256, a, b]. Then (a, b) and (256, a) both occur twice; the tie goes to
  // the smaller pair (97, 98) = 257. Then (256, 257) twice = 258. Nothing occurs twice after that,
  // so training stops at 259 ids although 300 were asked for.
  const BpeTokenizer t = train_bpe("aaabdaaabac", bpe_options(300));
  CHECK(t.merges() == std::vector<BpeTokenizer::Pair>{{97, 97}, {97, 98}, {256, 257}});
  CHECK(t.vocab_size() == 259);
  CHECK(t.name() == "bpe259");
  CHECK(t.token_bytes(258) == "aaab");
  CHECK(t.encode("aaabdaaabac") == std::vector<TokenId>{258, 'd', 258, 'a', 'c'});

  // Words "xy", " xy", " xy": (x, y) occurs 3 times -> 256; then (' ', 256) twice -> 257. The pair
  // (y, ' ') spans a word boundary and is never counted.
  const BpeTokenizer w = train_bpe("xy xy xy", bpe_options(300));
  CHECK(w.merges() == std::vector<BpeTokenizer::Pair>{{'x', 'y'}, {' ', 256}});
  CHECK(w.encode("xy xy") == std::vector<TokenId>{256, 257});
  CHECK(w.encode("yx") == std::vector<TokenId>{'y', 'x'});

  // min_pair_count 1 keeps merging until every word is one token.
  const BpeTokenizer m = train_bpe("abc", bpe_options(300, {}, "", 1));
  CHECK(m.merges() == std::vector<BpeTokenizer::Pair>{{'a', 'b'}, {256, 'c'}});
  // The requested size caps it.
  CHECK(train_bpe("aaabdaaabac", bpe_options(257)).merges().size() == 1);
  CHECK(train_bpe("aaabdaaabac", bpe_options(256)).merges().empty());
}

TEST_CASE("BPE on tinyshakespeare: trains in seconds, compresses, round-trips, matches the reference") {
  const BpeTokenizer& tok = shakespeare_bpe();
  CHECK(tok.vocab_size() == 512);
  CHECK(tok.merges().size() == 511 - 256);
  CHECK(tok.special_id("<|endoftext|>") == 511);
  const std::string text = read_text_file(kShakespeare);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<TokenId> ids = tok.encode(text);
  MESSAGE("encoding tinyshakespeare: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                                       << " s, " << text.size() << " bytes -> " << ids.size() << " tokens ("
                                       << double(text.size()) / double(ids.size()) << " bytes/token)");
  CHECK(ids.size() < text.size() * 2 / 3);
  CHECK(tok.decode(ids) == text);
  for (const std::string& s : hard_inputs()) CHECK(tok.decode(tok.encode(s)) == s);

  // Encoding by the linked-list heap equals the textbook merge loop, word by word.
  std::map<std::string, int> seen;
  for (const std::string& w : words_of(text.substr(0, 200000))) seen[w]++;
  for (const std::string& w : words_of(random_bytes(3000, 5) + " the thee thou hath  \n\n")) seen[w]++;
  seen[std::string(300, 'e')]++;
  for (const auto& [w, n] : seen) {
    INFO("word '" << escape_bytes(w) << "'");
    CHECK(tok.encode(w) == reference_encode_word(tok, w));
  }
}

TEST_CASE("a saved BPE tokenizer is readable JSON and loads to the same tokenizer") {
  TempDir dir;
  const BpeTokenizer& tok = shakespeare_bpe();
  const std::string path = dir / "tok.json";
  tok.save(path);
  const std::string file = read_file_bytes(path, "test");
  CHECK(file.find("\"type\": \"difft-bpe\"") != std::string::npos);
  CHECK(file.find("\"vocab_size\": 512") != std::string::npos);
  CHECK(file.find("{\"id\": 511, \"text\": \"<|endoftext|>\"}") != std::string::npos);
  CHECK(file.find("\"\\\\x0a\"") != std::string::npos);  // the newline token, escaped
  std::ostringstream m0;  // (not "[" + std::to_string(...): GCC 12 warns falsely, -Wrestrict)
  m0 << "[" << tok.merges()[0].first << ", " << tok.merges()[0].second << "]";
  CHECK(file.find(m0.str()) != std::string::npos);

  const std::unique_ptr<Tokenizer> loaded = load_tokenizer(path);
  CHECK(loaded->name() == tok.name());
  CHECK(loaded->vocab_size() == tok.vocab_size());
  CHECK(loaded->fingerprint() == tok.fingerprint());
  CHECK(loaded->fingerprint() == fnv1a64(file));
  const std::string sample = read_text_file(kShakespeare).substr(0, 50000) + "<|endoftext|>\xff\x00 x";
  CHECK(loaded->encode(sample) == tok.encode(sample));
  CHECK(load_tokenizer("byte")->name() == "byte");
}

TEST_CASE("special tokens get ids after the merges and are never merged into text") {
  std::string corpus;
  for (int i = 0; i < 200; ++i) corpus += "Once upon a time " + std::to_string(i % 7) + ".<|endoftext|>";
  const BpeTokenizer tok = train_bpe(corpus, bpe_options(300, {"<|endoftext|>", "<|pad|>"}));
  const TokenId eot = TokenId(256 + tok.merges().size());
  CHECK(tok.vocab_size() == eot + 2);
  CHECK(tok.special_id("<|endoftext|>") == eot);
  CHECK(tok.special_id("<|pad|>") == eot + 1);
  CHECK_FALSE(tok.special_id("<|nope|>").has_value());
  for (TokenId id = 256; id < eot; ++id) CHECK(tok.token_bytes(id).find('|') == std::string::npos);
  const std::vector<TokenId> ids = tok.encode("a<|endoftext|>b<|pad|><|endoftext");
  CHECK(std::count(ids.begin(), ids.end(), eot) == 1);
  CHECK(std::count(ids.begin(), ids.end(), eot + 1) == 1);
  CHECK(tok.decode(ids) == "a<|endoftext|>b<|pad|><|endoftext");
  CHECK(tok.encode(corpus).size() < corpus.size() / 3);

  // TinyStories separates stories with <|endoftext|>: each becomes one token.
  const std::string stories = "One day.<|endoftext|>Lily ran.<|endoftext|>";
  const std::vector<TokenId> s = tok.encode(stories);
  CHECK(std::count(s.begin(), s.end(), eot) == 2);
}

TEST_CASE("token cache: built once, reused, rebuilt when stale, foreign, truncated or corrupt") {
  TempDir dir;
  const std::string src = dir / "corpus.txt";
  const std::string text = read_text_file(kShakespeare).substr(0, 100000);
  write(src, text);
  const BpeTokenizer& bpe = shakespeare_bpe();
  const std::string cache = cache_path_for(src, bpe, dir / "cache");
  CHECK(cache.find("corpus.txt-") != std::string::npos);
  CHECK(cache.ends_with(".tok"));
  CHECK(cache_path_for(src, ByteTokenizer(), dir / "cache") != cache);

  const TokenFile a = load_or_build_tokens(src, bpe, cache);
  CHECK(a.built);
  CHECK(a.reason == "no cache file");
  CHECK(a.tokens == bpe.encode(text));
  CHECK(fs::file_size(cache) == 68 + bpe.name().size() + 2 * a.tokens.size());  // u16 tokens
  const auto mtime = fs::last_write_time(cache);

  const TokenFile b = load_or_build_tokens(src, bpe, cache);
  CHECK_FALSE(b.built);
  CHECK(b.tokens == a.tokens);
  CHECK(fs::last_write_time(cache) == mtime);

  auto rebuilt_because = [&](const Tokenizer& tok, const std::string& part) {
    const TokenFile f = load_or_build_tokens(src, tok, cache);
    INFO("reason: " << f.reason);
    CHECK(f.built);
    CHECK(f.reason.find(part) != std::string::npos);
    CHECK(f.tokens == tok.encode(read_file_bytes(src, "test")));
    CHECK_FALSE(load_or_build_tokens(src, tok, cache).built);  // and then reused
  };
  // Same size, one byte different: the content hash sees it.
  std::string edited = text;
  edited[500] = edited[500] == 'x' ? 'y' : 'x';
  write(src, edited);
  rebuilt_because(bpe, "source changed");
  // Another tokenizer at the same path; and another BPE with the same name but different merges.
  rebuilt_because(ByteTokenizer(), "tokenizer differs");
  const BpeTokenizer other = train_bpe(edited, bpe_options(300, {}, bpe.name()));
  rebuilt_because(other, "tokenizer differs");
  rebuilt_because(bpe, "tokenizer differs");
  // Damaged files.
  const std::string good = read_file_bytes(cache, "test");
  write(cache, good.substr(0, good.size() - 1));
  rebuilt_because(bpe, "truncated");
  write(cache, good.substr(0, 30));
  rebuilt_because(bpe, "truncated");
  write(cache, "");
  rebuilt_because(bpe, "truncated");
  write(cache, good + "xx");
  rebuilt_because(bpe, "padded");
  write(cache, "NOTMAGIC" + good.substr(8));
  rebuilt_because(bpe, "bad magic");
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 1;
  write(cache, flipped);
  rebuilt_because(bpe, "corrupt");
  std::string version = good;
  version[8] = 9;
  write(cache, version);
  rebuilt_because(bpe, "version 9");
}

TEST_CASE("token cache: a vocabulary over 65536 is stored as u32") {
  // Every byte pair (a, b) with b < 255 as merge a + 256 b, then (255, 255) = 65536 and
  // (65536, 65536) = 65537: 65282 merges, all distinct, each made of earlier ids.
  std::vector<BpeTokenizer::Pair> merges;
  for (int r = 0; r < 65280; ++r) merges.push_back({r % 256, r / 256});
  merges.push_back({255, 255});
  merges.push_back({65536, 65536});
  const BpeTokenizer big("big", merges, {});
  CHECK(big.vocab_size() == 65538);
  TempDir dir;
  const std::string src = dir / "t.txt";
  const std::string text = "zz zz \xff\xff\xff\xff";
  write(src, text);
  const TokenFile a = load_or_build_tokens(src, big, dir / "c.tok");
  CHECK(a.tokens == big.encode(text));
  CHECK(a.tokens.back() == 65537);
  CHECK(big.decode(a.tokens) == text);
  CHECK(fs::file_size(dir / "c.tok") == 68 + 3 + 4 * a.tokens.size());
  const TokenFile b = load_or_build_tokens(src, big, dir / "c.tok");
  CHECK_FALSE(b.built);
  CHECK(b.tokens == a.tokens);
}

TEST_CASE("windows: split, shapes, reproducible by seed and state, always inside their split") {
  std::vector<TokenId> tokens(1000);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = TokenId(i % 500);
  const TrainValSplit split = split_train_val(tokens, 0.1);
  CHECK(split.train.begin == 0);
  CHECK(split.train.end == 900);
  CHECK(split.val.begin == 900);
  CHECK(split.val.end == 1000);
  CHECK(split_train_val(tokens, 0.0).val.size() == 0);

  const int64_t B = 4, T = 16;
  WindowSampler s1(split.tokens, split.train, T, 7), s2(split.tokens, split.train, T, 7), s3(split.tokens, split.train, T, 8);
  const Batch a = s1.next(B);
  CHECK(a.inputs.shape() == Shape{B, T});
  CHECK(a.targets.shape() == Shape{B, T});
  CHECK(a.inputs.dtype() == DType::Int64);
  CHECK(a.targets.dtype() == DType::Int64);
  const std::vector<int64_t> x = a.inputs.to_vector<int64_t>(), y = a.targets.to_vector<int64_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t s = a.starts[size_t(b)];
      CHECK(x[size_t(b * T + t)] == tokens[size_t(s + t)]);
      CHECK(y[size_t(b * T + t)] == tokens[size_t(s + t + 1)]);
    }
  CHECK(s2.next(B).starts == a.starts);
  CHECK(s3.next(B).starts != a.starts);

  // Resume: a sampler restored to the state after 3 batches draws the 4th batch.
  for (int i = 0; i < 2; ++i) s1.next(B);
  const SamplerState saved = s1.state();
  CHECK(saved == SamplerState{7, 3 * B});
  const Batch fourth = s1.next(B);
  WindowSampler resumed(split.tokens, split.train, T, 12345);
  resumed.set_state(saved);
  CHECK(resumed.next(B).starts == fourth.starts);

  // Every window lies inside its split, and both ends of each split are reached.
  WindowSampler tr(split.tokens, split.train, T, 1), va(split.tokens, split.val, T, 1, "validation");
  int64_t lo = 1 << 30, hi = -1, vlo = 1 << 30, vhi = -1;
  for (int i = 0; i < 200; ++i) {
    for (int64_t s : tr.next(32).starts) lo = std::min(lo, s), hi = std::max(hi, s);
    for (int64_t s : va.next(32).starts) vlo = std::min(vlo, s), vhi = std::max(vhi, s);
  }
  CHECK(lo == 0);
  CHECK(hi == 900 - T - 1);
  CHECK(vlo == 900);
  CHECK(vhi == 1000 - T - 1);

  // Evaluation windows: fixed, in order, not overlapping, inside the split.
  const std::vector<int64_t> ev = eval_starts(split.val, T, 100);
  CHECK(ev.size() == 100 / (T + 1));
  CHECK(ev.front() == 900);
  for (size_t i = 1; i < ev.size(); ++i) CHECK(ev[i] - ev[i - 1] >= T + 1);
  CHECK(ev.back() + T + 1 <= 1000);
  CHECK(eval_starts(split.val, T, 2) == std::vector<int64_t>{900, 1000 - T - 1});
  CHECK(make_batch(*split.tokens, ev, T).inputs.shape() == Shape{int64_t(ev.size()), T});
}

TEST_CASE("text errors say what is wrong and how to fix it") {
  TempDir dir;
  CHECK_THROWS_WITH_PART(read_text_file(dir / "missing.txt"), "does not exist");
  write(dir / "empty.txt", "");
  CHECK_THROWS_WITH_PART(read_text_file(dir / "empty.txt"), "is empty");
  CHECK_THROWS_WITH_PART(load_or_build_tokens(dir / "empty.txt", ByteTokenizer(), dir / "c.tok"), "is empty");
  CHECK_THROWS_WITH_PART(load_or_build_tokens(dir / "nope.txt", ByteTokenizer(), dir / "c.tok"), "does not exist");
  CHECK_THROWS_WITH_PART(read_text_file(dir.path.string()), "is a folder");

  // Too short for one window of T + 1 tokens (in the split that is sampled).
  const TrainValSplit s = split_train_val(ByteTokenizer().encode("0123456789"), 0.5);
  CHECK_THROWS_WITH_PART(WindowSampler(s.tokens, s.train, 5, 0), "the train split holds 5 tokens, fewer than one window of context + 1 = 6");
  CHECK_NOTHROW(WindowSampler(s.tokens, s.train, 4, 0));
  CHECK_THROWS_WITH_PART(WindowSampler(s.tokens, s.val, 8, 0, "validation"), "validation split holds 5 tokens");
  CHECK_THROWS_WITH_PART(eval_starts(s.val, 8, 4), "fewer than one window");
  CHECK_THROWS_WITH_PART(split_train_val({1, 2}, 1.0), "validation fraction must be in [0, 1)");
  CHECK_THROWS_WITH_PART(WindowSampler(s.tokens, s.train, 0, 0), "context length must be >= 1");

  // BPE vocab too small for the bytes and the special tokens.
  CHECK_THROWS_WITH_PART(train_bpe("abc", bpe_options(200)), "at least 256 (the bytes) + 0 special token(s) = 256");
  CHECK_THROWS_WITH_PART(train_bpe("abc", bpe_options(256, {"<|endoftext|>"})), "= 257");
  CHECK_THROWS_WITH_PART(train_bpe("abc", bpe_options(300, {}, "bad name/x")), "is not allowed");
  CHECK_THROWS_WITH_PART(train_bpe("abc", bpe_options(300, {"<a>", "<a>"})), "listed twice");
  CHECK_THROWS_WITH_PART(shakespeare_bpe().decode(std::vector<TokenId>{512}), "outside the vocabulary");

  // Tokenizer files: missing, empty, not JSON, and each kind of inconsistency.
  CHECK_THROWS_WITH_PART(load_tokenizer(dir / "none.json"), "is neither 'byte' nor an existing file");
  CHECK_THROWS_WITH_PART(BpeTokenizer::load(dir / "none.json"), "does not exist");
  write(dir / "empty.json", "");
  CHECK_THROWS_WITH_PART(load_tokenizer(dir / "empty.json"), "is corrupt: it is not valid JSON");
  const std::string good = train_bpe("aaabdaaabac", bpe_options(300, {"<s>"})).to_json();
  auto corrupt_with = [&](const std::string& from, const std::string& to, const std::string& part) {
    const size_t at = good.find(from);
    REQUIRE(at != std::string::npos);
    std::string bad = good;
    bad.replace(at, from.size(), to);
    write(dir / "bad.json", bad);
    CHECK_THROWS_WITH_PART(load_tokenizer(dir / "bad.json"), part);
    CHECK_THROWS_WITH_PART(load_tokenizer(dir / "bad.json"), "is corrupt");
  };
  CHECK_NOTHROW(BpeTokenizer::from_json(good, "test"));
  corrupt_with(good, "", "not valid JSON");
  corrupt_with(good, "[1, 2]", "not a JSON object");
  corrupt_with(good, good.substr(0, good.size() / 2), "not valid JSON");
  corrupt_with("\"version\": 1", "\"version\": 2", "format version 2 is not supported");
  corrupt_with("\"type\": \"difft-bpe\"", "\"type\": \"gpt2\"", "\"type\"");
  corrupt_with("\"merges\"", "\"mergez\"", "field \"merges\" is missing");
  corrupt_with("[256, 257]", "[256, 258]", "merge 2 is [256, 258]");
  corrupt_with("[97, 98]", "[97, 97]", "repeats an earlier merge");
  corrupt_with("[97, 98]", "[97]", "not a [left, right] pair");
  corrupt_with("\"vocab_size\": 260", "\"vocab_size\": 512", "\"vocab_size\" is 512");
  corrupt_with("{\"id\": 259", "{\"id\": 300", "special token 0's id is not 259");
  corrupt_with("\"aaab\"", "\"aaac\"", "token 258 in \"tokens\" does not match");
  corrupt_with("\"text\": \"<s>\"", "\"text\": \"\"", "special token 0 is empty");
  corrupt_with("\"name\": \"bpe260\"", "\"name\": \"../x\"", "is not allowed");
}
