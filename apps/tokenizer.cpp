// tokenizer.cpp: `difft tokenizer train`, a byte-level BPE learned from a text file.
#include <chrono>
#include <iostream>

#include "apps/commands.h"
#include "apps/text/bpe.h"
#include "apps/text/text_io.h"

namespace difft::app {

cli::Command tokenizer_command() {
  return cli::Command("tokenizer", "`difft tokenizer train`: learn a byte-level BPE tokenizer from a text file",
                      {{"data", "", "text file to learn from (required)"},
                       {"vocab", "512", "vocabulary size: 256 bytes + merges + special tokens"},
                       {"out", "tokenizer.json", "file to write (readable JSON)"},
                       {"special", "", "comma-separated special tokens, e.g. <|endoftext|>"}});
}

int run_tokenizer(const cli::Command& c) {
  if (c.str("data").empty()) throw cli::UsageError("tokenizer train: --data FILE is required");
  text::BpeOptions o;
  o.vocab_size = c.integer("vocab", 257, 1 << 20);
  std::stringstream list(c.str("special"));
  for (std::string s; std::getline(list, s, ',');)
    if (!s.empty()) o.special_tokens.push_back(s);
  const std::string corpus = text::read_text_file(c.str("data"));
  const auto t0 = std::chrono::steady_clock::now();
  const text::BpeTokenizer tok = text::train_bpe(corpus, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  tok.save(c.str("out"));
  const size_t n = tok.encode(corpus).size();
  std::cout << "tokenizer: " << tok.name() << ", " << tok.vocab_size() << " tokens (" << tok.merges().size() << " merges) learned from "
            << corpus.size() << " bytes in " << s << " s; the corpus encodes to " << n << " tokens (" << double(corpus.size()) / double(n)
            << " bytes/token); wrote " << c.str("out") << "\n";
  return 0;
}

}  // namespace difft::app
