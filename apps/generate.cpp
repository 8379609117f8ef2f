// generate.cpp: `difft sample`, `difft eval` and `difft info` on a checkpoint.
//
// sample: the prompt is run once through the model filling a KV cache (nn::KVCache), then each
// new token costs one position: logits of the last position -> temperature, top-k, top-p ->
// a draw from a seeded Generator -> printed at once (streamed) -> fed back. When the context is
// full, the cache is rebuilt from the last half of the text.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>

#include "apps/commands.h"
#include "apps/run_dir.h"
#include "apps/text/dataset.h"
#include "apps/text/token_cache.h"
#include "core/autograd.h"
#include "core/error.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"

namespace difft::app {
namespace fs = std::filesystem;

cli::Command sample_command() {
  return cli::Command("sample", "generate text from a checkpoint (KV cache, streamed)",
                      {{"ckpt", "", "run folder or checkpoint folder (required)"},
                       {"prompt", "", "text to continue (default: a newline)"},
                       {"tokens", "300", "tokens to generate"},
                       {"temperature", "0.8", "softmax temperature (0 = greedy)"},
                       {"top-k", "0", "keep only the k most likely tokens (0 = all)"},
                       {"top-p", "1.0", "keep the smallest set of tokens whose probability reaches p"},
                       {"seed", "0", "seed of the draws"}});
}

cli::Command eval_command() {
  return cli::Command("eval", "loss, perplexity and bits per byte of a checkpoint on a text file",
                      {{"ckpt", "", "run folder or checkpoint folder (required)"},
                       {"data", "", "text file (required)"},
                       {"batch", "8", "windows per forward pass"},
                       {"max-windows", "0", "evaluate at most this many windows (0 = the whole file)"}});
}

cli::Command info_ckpt_command() {
  return cli::Command("info", "build/threading information, or a checkpoint's config and parameter table",
                      {{"ckpt", "", "run folder or checkpoint folder (omit for build information)"},
                       {"threads", "0", "print only the threading information", true}});
}

namespace {

struct Loaded {
  std::shared_ptr<models::CausalLM> model;
  std::unique_ptr<text::Tokenizer> tok;
  std::string dir;
};

Loaded load(const std::string& ckpt_flag, const char* cmd) {
  if (ckpt_flag.empty()) throw cli::UsageError(std::string(cmd) + ": --ckpt DIR is required (the --out folder of difft train)");
  Loaded l;
  l.dir = resolve_checkpoint(ckpt_flag);
  l.model = models::load_model((fs::path(l.dir) / "model.safetensors").string());
  l.tok = checkpoint_tokenizer(l.dir, l.model->config().tokenizer);
  DIFFT_CHECK(l.tok->vocab_size() == l.model->config().vocab_size, cmd, ": tokenizer '", l.model->config().tokenizer, "' has ",
              l.tok->vocab_size(), " tokens but the model ", l.model->config().vocab_size);
  return l;
}

// Draws a token id from logits (V) with temperature, top-k and top-p.
int64_t draw(std::vector<double> logits, double temperature, int64_t top_k, double top_p, Generator& gen) {
  const int64_t V = int64_t(logits.size());
  if (temperature == 0.0) return std::max_element(logits.begin(), logits.end()) - logits.begin();
  std::vector<int64_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  const int64_t k = top_k > 0 ? std::min(top_k, V) : V;
  std::vector<double> p(static_cast<size_t>(k));
  const double mx = logits[size_t(order[0])];
  double total = 0;
  for (int64_t i = 0; i < k; ++i) total += p[size_t(i)] = std::exp((logits[size_t(order[size_t(i)])] - mx) / temperature);
  int64_t keep = k;
  double cum = 0;
  for (int64_t i = 0; i < k; ++i) {  // smallest prefix whose mass reaches top_p
    cum += p[size_t(i)] / total;
    if (cum >= top_p) {
      keep = i + 1;
      break;
    }
  }
  double kept = 0;
  for (int64_t i = 0; i < keep; ++i) kept += p[size_t(i)];
  double u = gen.next_uniform() * kept;
  for (int64_t i = 0; i < keep; ++i) {
    u -= p[size_t(i)];
    if (u < 0) return order[size_t(i)];
  }
  return order[size_t(keep - 1)];
}

}  // namespace

int run_sample(const cli::Command& c) {
  Loaded l = load(c.str("ckpt"), "sample");
  const int64_t n = c.integer("tokens", 0, 1 << 24), top_k = c.integer("top-k", 0);
  const double temperature = c.real("temperature", 0.0, 100.0), top_p = c.real("top-p", 1e-9, 1.0);
  Generator gen(uint64_t(c.integer("seed", 0)));
  const std::string prompt = c.str("prompt").empty() ? "\n" : c.str("prompt");
  std::vector<text::TokenId> ids = l.tok->encode(prompt);
  const int64_t ctx = l.model->config().max_seq_len;
  std::cout << prompt << std::flush;
  NoGradGuard no_grad;
  auto cache = l.model->new_cache();
  std::vector<int64_t> pending(ids.begin(), ids.end());
  if (int64_t(pending.size()) > ctx) pending.erase(pending.begin(), pending.end() - ctx);
  for (int64_t i = 0; i < n; ++i) {
    if (cache[0].length() + int64_t(pending.size()) > ctx) {  // full: restart from the last half
      cache = l.model->new_cache();
      pending.assign(ids.end() - std::min<int64_t>(int64_t(ids.size()), ctx / 2), ids.end());
    }
    const Tensor logits = l.model->forward(from_vector(pending, {1, int64_t(pending.size())}, {DType::Int64}), cache);
    const int64_t next = draw(logits.select(1, -1).select(0, 0).to_vector<double>(), temperature, top_k, top_p, gen);
    ids.push_back(text::TokenId(next));
    pending = {next};
    std::cout << l.tok->token_bytes(text::TokenId(next)) << std::flush;
  }
  std::cout << "\n";
  return 0;
}

int run_eval(const cli::Command& c) {
  Loaded l = load(c.str("ckpt"), "eval");
  if (c.str("data").empty()) throw cli::UsageError("eval: --data FILE is required");
  const int64_t B = c.integer("batch", 1, 4096), max_windows = c.integer("max-windows", 0);
  const std::string cache_dir = (fs::path(l.dir).parent_path() / "cache").string();
  const text::TokenFile tf = text::load_or_build_tokens(c.str("data"), *l.tok, text::cache_path_for(c.str("data"), *l.tok, cache_dir));
  const int64_t T = l.model->config().max_seq_len, N = int64_t(tf.tokens.size());
  DIFFT_CHECK(N >= 2, "eval: '", c.str("data"), "' has ", N, " tokens; need at least 2");
  // Consecutive windows cover every token once as a target (the first token only as context).
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + 1 < N && (max_windows == 0 || int64_t(starts.size()) < max_windows); s += T) starts.push_back(s);
  NoGradGuard no_grad;
  double nats = 0, bytes = 0;
  int64_t count = 0;
  auto score = [&](const std::vector<int64_t>& chunk, int64_t len) {  // windows of one length, as one batch
    const text::Batch b = text::make_batch(tf.tokens, chunk, len);
    nats += l.model->loss(b.inputs, b.targets).item() * double(len * int64_t(chunk.size()));
    count += len * int64_t(chunk.size());
    for (int64_t t : b.targets.to_vector<int64_t>()) bytes += double(l.tok->token_bytes(text::TokenId(t)).size());
  };
  std::vector<int64_t> full;
  for (int64_t s : starts) {
    if (N - 1 - s >= T) full.push_back(s);
    else score({s}, N - 1 - s);  // the shorter last window
    if (int64_t(full.size()) == B) score(full, T), full.clear();
  }
  if (!full.empty()) score(full, T);
  const double mean = nats / double(count);
  std::cout << std::fixed << std::setprecision(4) << "eval: " << c.str("data") << ": " << count << " tokens, loss " << mean
            << " nats/token, perplexity " << std::exp(mean) << ", " << nats / std::log(2.0) / bytes << " bits per byte\n";
  return 0;
}

int run_info_ckpt(const cli::Command& c) {
  const std::string dir = resolve_checkpoint(c.str("ckpt"));
  const SafetensorsFile f = load_safetensors((fs::path(dir) / "model.safetensors").string());
  const models::ModelConfig cfg = models::config_from_metadata(f.metadata, dir);
  std::cout << "checkpoint: " << dir << "\nconfig:\n";
  for (const auto& [k, v] : f.metadata) std::cout << "  " << std::left << std::setw(16) << k << v << "\n";
  int64_t total = 0;
  std::cout << "parameters:\n";
  for (const auto& [name, t] : f.tensors) {
    std::cout << "  " << std::left << std::setw(40) << name << std::setw(16) << shape_str(t.shape()) << std::right << std::setw(10)
              << t.numel() << "  " << dtype_name(t.dtype()) << "\n";
    total += t.numel();
  }
  std::cout << "total: " << total << " parameters (" << cfg.attention << " attention, d_model " << cfg.d_model << ", " << cfg.n_layers
            << " layers)\n";
  return 0;
}

}  // namespace difft::app
