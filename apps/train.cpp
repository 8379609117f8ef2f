// train.cpp: `difft train`, a language model on a text file.
//
//   flags (+ an optional JSON config of the same keys; flags given on the command line win)
//     -> tokenizer, cached token file, train/validation split, seeded window sampler
//     -> model (diff or transformer), AdamW on decay groups, warmup + cosine/linear schedule
//     -> loop: micro-batches (loss / accum) backward, clip, step; progress line; log.jsonl;
//        validation every --eval-every steps; checkpoints last/ and best/ (run_dir.h)
//
// Exact resume: a run of 2N steps equals a run of N steps resumed for N, bit for bit, because
// everything that decides the next step is restored: weights, AdamW moments and step, the
// sampler's (seed, offset), the best validation loss. The schedule is a function of the step.
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "apps/commands.h"
#include "apps/run_dir.h"
#include "apps/text/bpe.h"
#include "apps/text/dataset.h"
#include "apps/text/token_cache.h"
#include "core/autograd.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "models/checkpoint.h"
#include "optim/optim.h"
#include "optim/state.h"

namespace difft::app {
namespace fs = std::filesystem;
using json = nlohmann::json;

cli::Command train_command() {
  return cli::Command(
      "train", "train a DIFF Transformer (or the baseline) on a text file",
      {{"model", "diff", "diff or transformer"},
       {"data", "", "text file to train on (required)"},
       {"out", "runs/difft", "run folder: checkpoints, log.jsonl, config.json"},
       {"steps", "2000", "optimizer steps in total (a resumed run continues up to this)"},
       {"stop-at", "0", "stop after this step with a checkpoint, as if interrupted (0 = run all --steps)"},
       {"config", "", "JSON file of flag values (keys are flag names); command-line flags win"},
       {"resume", "", "run folder (or checkpoint folder) to continue exactly"},
       {"seed", "0", "seed of initialisation and data order"},
       {"tokenizer", "byte", "byte, or a BPE tokenizer file from `difft tokenizer train`"},
       {"d-model", "128", "model width"},
       {"layers", "4", "decoder blocks"},
       {"heads", "8", "attention heads of the baseline (DIFF uses half, each twice as wide)"},
       {"kv-heads", "0", "key/value heads of the baseline, for GQA (0 = heads)"},
       {"ffn", "0", "SwiGLU hidden size (0 = 8/3 d-model)"},
       {"seq", "128", "context length in tokens"},
       {"batch", "16", "sequences per micro-batch"},
       {"accum", "1", "micro-batches per optimizer step (gradient accumulation)"},
       {"lr", "2e-3", "peak learning rate"},
       {"min-lr", "2e-4", "learning rate at the end of the decay"},
       {"warmup", "100", "linear warmup steps"},
       {"schedule", "cosine", "cosine, linear or constant"},
       {"weight-decay", "0.1", "AdamW decoupled weight decay on matrices"},
       {"beta1", "0.9", "AdamW beta1"},
       {"beta2", "0.95", "AdamW beta2"},
       {"eps", "1e-8", "AdamW epsilon"},
       {"clip", "1.0", "gradient-norm clipping (0 = off)"},
       {"val-fraction", "0.1", "share of the tokens held out for validation (the end of the file)"},
       {"eval-every", "200", "steps between validation losses"},
       {"eval-batches", "20", "batches per validation loss"},
       {"save-every", "500", "steps between checkpoints (also saved at the end)"},
       {"log-every", "10", "steps between progress lines"},
       {"on-nonfinite", "skip", "when a loss or gradient is NaN/inf: skip the step, or stop"},
       {"reference-attention", "0", "use the attention composed of ops instead of the fused kernel", true},
       {"tie-embeddings", "0", "share the embedding and LM-head matrix", true}});
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int sig) { g_stop = sig; }

// Applies a JSON config to the flags not given on the command line.
void apply_config_file(cli::Command& c) {
  const std::string path = c.str("config");
  if (path.empty()) return;
  std::ifstream f(path);
  DIFFT_CHECK(f.good(), "train: cannot read config file '", path, "'");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error("train: config file '" + path + "' is not valid JSON: " + e.what());
  }
  DIFFT_CHECK(j.is_object(), "train: config file '", path, "' must hold a JSON object of flag names to values");
  for (auto it = j.begin(); it != j.end(); ++it) {
    DIFFT_CHECK(c.has(it.key()), "train: config file '", path, "' has unknown key '", it.key(), "' (keys are flag names, e.g. \"d-model\")");
    if (c.given(it.key()) || it.key() == "config") continue;
    const json& v = it.value();
    c.set(it.key(), v.is_string() ? v.get<std::string>() : v.dump());
  }
}

json resolved_config(const cli::Command& c) {
  json j = json::object();
  for (const cli::Option& o : c.options()) {
    if (o.name == "config" || o.name == "resume" || o.name == "stop-at") continue;
    if (o.is_switch) {
      j[o.name] = o.value == "1";
      continue;
    }
    char* end = nullptr;  // numbers as numbers, so the file reads back as a --config
    const double v = std::strtod(o.value.c_str(), &end);
    j[o.name] = !o.value.empty() && end && *end == '\0' ? json(v) : json(o.value);
    if (j[o.name].is_number() && o.value.find_first_of(".eE") == std::string::npos) j[o.name] = std::stoll(o.value);
  }
  return j;
}

models::ModelConfig model_config(const cli::Command& c, int64_t vocab, const std::string& tokenizer_name) {
  models::ModelConfig m;
  const std::string kind = c.str("model");
  if (kind != "diff" && kind != "transformer") throw cli::UsageError("train: --model must be diff or transformer, got '" + kind + "'");
  m.attention = kind == "diff" ? "diff" : "standard";
  m.vocab_size = vocab;
  m.d_model = c.integer("d-model", 1, 1 << 16);
  m.n_layers = c.integer("layers", 1, 1024);
  m.n_heads = c.integer("heads", 1, 4096);
  m.n_kv_heads = c.integer("kv-heads", 0, 4096);
  m.ffn_hidden = c.integer("ffn", 0, 1 << 20);
  m.max_seq_len = c.integer("seq", 1, 1 << 20);
  m.tie_embeddings = c.flag("tie-embeddings");
  m.fused_attention = !c.flag("reference-attention");
  m.seed = uint64_t(c.integer("seed", 0));
  m.tokenizer = tokenizer_name;
  try {
    m.validate();
  } catch (const Error& e) {
    throw cli::UsageError(std::string("train: ") + e.what() + " (fix --d-model / --heads / --kv-heads / --layers)");
  }
  return m;
}

// Mean loss over fixed validation windows (the same windows every time, so curves compare).
double validation_loss(const models::CausalLM& model, const text::TrainValSplit& split, const std::vector<int64_t>& starts,
                       int64_t batch, int64_t T) {
  NoGradGuard no_grad;
  double total = 0;
  int64_t n = 0;
  for (size_t i = 0; i < starts.size(); i += size_t(batch)) {
    std::vector<int64_t> chunk(starts.begin() + int64_t(i), starts.begin() + int64_t(std::min(starts.size(), i + size_t(batch))));
    const text::Batch b = text::make_batch(*split.tokens, chunk, T);
    total += model.loss(b.inputs, b.targets).item() * double(chunk.size());
    n += int64_t(chunk.size());
  }
  return n ? total / double(n) : std::nan("");
}

// The first parameter whose gradient holds a NaN or infinity, or "" when all are finite.
std::string first_nonfinite_grad(const models::CausalLM& model) {
  NoGradGuard no_grad;
  for (auto& [name, p] : model.named_parameters()) {
    const Tensor g = p.grad();
    if (g.defined() && !std::isfinite(sum(abs(g.to(DType::Float64))).item())) return name;
  }
  return "";
}

std::string fmt_duration(double s) {
  std::ostringstream os;
  const int64_t t = int64_t(s);
  if (t >= 3600) os << t / 3600 << "h" << std::setw(2) << std::setfill('0') << (t % 3600) / 60 << "m";
  else os << t / 60 << "m" << std::setw(2) << std::setfill('0') << t % 60 << "s";
  return os.str();
}

struct Checkpointer {
  std::string out;
  void save(const std::string& which, const models::CausalLM& model, const optim::Optimizer& opt, const text::WindowSampler& sampler,
            int64_t step, double best_val) const {
    const fs::path dir = fs::path(out) / which;
    fs::create_directories(dir);
    // Weights first, state second: a crash in between leaves a state one save older, which
    // resume detects (the step in both files must agree).
    const Metadata extra = {{"step", std::to_string(step)}};
    models::save_model((dir / "model.safetensors").string(), model, extra);
    std::ostringstream best;
    best.precision(17);
    best << best_val;
    optim::save_train_state((dir / "train_state.safetensors").string(), opt,
                            {{"step", std::to_string(step)},
                             {"sampler_seed", std::to_string(sampler.state().seed)},
                             {"sampler_offset", std::to_string(sampler.state().offset)},
                             {"best_val", best.str()}});
  }
};

}  // namespace

int run_train(const cli::Command& flags) {
  cli::Command c = flags;
  apply_config_file(c);
  std::string out = c.str("out");
  const std::string resume = c.str("resume");
  if (!resume.empty() && !c.given("out")) out = fs::path(resume).filename() == "last" ? fs::path(resume).parent_path().string() : resume;
  if (c.str("data").empty()) throw cli::UsageError("train: --data FILE is required (e.g. --data data/tinyshakespeare.txt)");
  const int64_t steps = c.integer("steps", 1), B = c.integer("batch", 1, 1 << 20), accum = c.integer("accum", 1, 1 << 16);
  const int64_t eval_every = c.integer("eval-every", 1), save_every = c.integer("save-every", 1), log_every = c.integer("log-every", 1);
  const int64_t eval_batches = c.integer("eval-batches", 1, 1 << 20), stop_at = c.integer("stop-at", 0);
  const double lr = c.number_above("lr", 0.0), clip = c.real("clip", 0.0, 1e9);
  const std::string on_nonfinite = c.str("on-nonfinite");
  if (on_nonfinite != "skip" && on_nonfinite != "stop") throw cli::UsageError("train: --on-nonfinite must be skip or stop");

  // Output folder: must be creatable and writable before any work is done.
  try {
    fs::create_directories(out);
  } catch (const fs::filesystem_error& e) {
    throw Error("train: cannot create the output folder '" + out + "': " + e.code().message() + " (choose another --out)");
  }
  DIFFT_CHECK(::access(out.c_str(), W_OK) == 0, "train: output folder '", out, "' is not writable (choose another --out)");

  // Tokenizer and data.
  std::unique_ptr<text::Tokenizer> tok = text::load_tokenizer(c.str("tokenizer"));
  std::string tokenizer_name = "byte";
  if (c.str("tokenizer") != "byte") {
    tokenizer_name = "tokenizer.json";
    if (auto* bpe = dynamic_cast<text::BpeTokenizer*>(tok.get())) bpe->save((fs::path(out) / tokenizer_name).string());
  }
  const std::string cache = text::cache_path_for(c.str("data"), *tok, (fs::path(out) / "cache").string());
  text::TokenFile tf = text::load_or_build_tokens(c.str("data"), *tok, cache);
  std::cout << "data: " << c.str("data") << ": " << tf.tokens.size() << " tokens (" << tok->name() << "), "
            << (tf.built ? "tokenized (" + tf.reason + ")" : "from cache") << "\n";
  const text::TrainValSplit split = text::split_train_val(std::move(tf.tokens), c.real("val-fraction", 0.0, 0.5));
  const models::ModelConfig mcfg = model_config(c, tok->vocab_size(), tokenizer_name);
  const int64_t T = mcfg.max_seq_len;
  text::WindowSampler sampler(split.tokens, split.train, T, uint64_t(c.integer("seed", 0)) + 1, "train");
  const std::vector<int64_t> val_starts = text::eval_starts(split.val, T, eval_batches * B, "validation");

  // Model, optimizer, schedule.
  auto model = models::make_model(mcfg);
  optim::AdamW opt(optim::decay_groups(model->named_parameters(), c.real("weight-decay", 0.0, 10.0)),
                   {.lr = lr, .beta1 = c.real("beta1", 0.0, 0.999999), .beta2 = c.real("beta2", 0.0, 0.999999),
                    .eps = c.number_above("eps", 0.0), .weight_decay = c.real("weight-decay", 0.0, 10.0)});
  optim::LRSchedule sched;
  sched.kind = optim::LRSchedule::parse(c.str("schedule"));
  sched.lr = lr;
  sched.min_lr = c.real("min-lr", 0.0, lr);
  sched.warmup_steps = c.integer("warmup", 0);
  sched.total_steps = steps;

  int64_t start = 0;
  double best_val = std::numeric_limits<double>::infinity();
  if (!resume.empty()) {
    const std::string ckpt = resolve_checkpoint(resume);
    models::load_weights((fs::path(ckpt) / "model.safetensors").string(), *model);
    const Metadata st = optim::load_train_state((fs::path(ckpt) / "train_state.safetensors").string(), opt);
    start = std::stoll(st.at("step"));
    DIFFT_CHECK(std::stoll(load_safetensors((fs::path(ckpt) / "model.safetensors").string()).metadata.at("step")) == start,
                "train: '", ckpt, "' holds weights and optimizer state of different steps (an interrupted save?)");
    sampler.set_state({std::stoull(st.at("sampler_seed")), std::stoull(st.at("sampler_offset"))});
    best_val = std::stod(st.at("best_val"));
    std::cout << "resumed from " << ckpt << " at step " << start << "\n";
    DIFFT_CHECK(start < steps, "train: the checkpoint is already at step ", start, " of --steps ", steps, "; raise --steps to continue");
  }

  // The resolved configuration, printed and saved with the run.
  const json resolved = resolved_config(c);
  write_file_atomic((fs::path(out) / "config.json").string(), resolved.dump(2) + "\n");
  std::cout << "model: " << mcfg.attention << " attention, " << model->num_parameters() << " parameters, d_model " << mcfg.d_model
            << ", " << mcfg.n_layers << " layers, " << (mcfg.is_diff() ? mcfg.diff_heads() : mcfg.n_heads) << " heads"
            << (mcfg.is_diff() ? " (DIFF)" : "") << ", context " << T << "\n"
            << "train: " << steps << " steps of " << B * accum << " x " << T << " tokens, lr " << lr << " (" << c.str("schedule")
            << ", warmup " << sched.warmup_steps << "), " << num_threads() << " threads\nconfig: " << resolved.dump() << "\n";

  // The log keeps the lines of steps before `start` (a resumed run rewrites what came after).
  const std::string log_path = (fs::path(out) / "log.jsonl").string();
  {
    std::vector<std::string> keep;
    std::ifstream old(log_path);
    for (std::string line; std::getline(old, line);) {
      try {
        if (json::parse(line).value("step", int64_t(-1)) < start) keep.push_back(line);
      } catch (const json::exception&) {
      }
    }
    std::ofstream rewrite(log_path, std::ios::trunc);
    for (const std::string& l : keep) rewrite << l << "\n";
  }
  std::ofstream log(log_path, std::ios::app);

  const Checkpointer ckpt{out};
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool tty = ::isatty(STDOUT_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  double window_tokens = 0, window_time = 0;
  int64_t skipped = 0;
  for (int64_t step = start; step < steps; ++step) {
    const auto ts = std::chrono::steady_clock::now();
    opt.lr = sched.at(step);
    opt.zero_grad();
    double loss = 0;
    for (int64_t m = 0; m < accum; ++m) {
      const text::Batch b = sampler.next(B);
      Tensor l = model->loss(b.inputs, b.targets);
      loss += l.item() / double(accum);
      (l / double(accum)).backward();
    }
    // One pass over the gradients: a finite global norm means every gradient is finite, so the
    // per-parameter scan runs only to name the culprit of a non-finite norm. (clip_grad_norm does
    // not rescale when the norm is NaN; an infinite one zeroes gradients of a step that is skipped.)
    const double norm = clip > 0 ? optim::clip_grad_norm(model->parameters(), clip) : optim::grad_norm(model->parameters());
    std::string bad = !std::isfinite(loss) ? "the loss" : std::isfinite(norm) ? "" : first_nonfinite_grad(*model);
    if (!bad.empty()) {
      std::cout << (tty ? "\n" : "") << "step " << step << ": non-finite values in " << (bad == "the loss" ? bad : "the gradient of " + bad)
                << (on_nonfinite == "skip" ? "; step skipped" : "; stopping (--on-nonfinite stop)") << std::endl;
      log << json{{"step", step}, {"nonfinite", bad}}.dump() << "\n";
      if (on_nonfinite == "stop") {
        ckpt.save("last", *model, opt, sampler, step, best_val);
        return 1;
      }
      ++skipped;
      continue;
    }
    opt.step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    window_tokens += double(B * accum * T), window_time += dt;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    json rec = {{"step", step}, {"loss", loss}, {"lr", opt.lr}, {"grad_norm", norm}, {"tokens_per_s", double(B * accum * T) / dt},
                {"elapsed_s", elapsed}};
    if (mcfg.is_diff()) {
      NoGradGuard ng;
      json lam = json::array();
      for (size_t i = 0; i < model->layers->size(); ++i) lam.push_back((*model->layers)[i].diff_attn->lambda().item());
      rec["lambda"] = lam;
    }
    const bool last = step + 1 == steps;
    if ((step + 1) % eval_every == 0 || last) {
      const double val = validation_loss(*model, split, val_starts, B, T);
      rec["val_loss"] = val;
      if (val < best_val) {
        best_val = val;
        ckpt.save("best", *model, opt, sampler, step + 1, best_val);
      }
    }
    log << rec.dump() << "\n";
    log.flush();
    if ((step + 1) % log_every == 0 || last || rec.contains("val_loss")) {
      const double eta = elapsed / double(step + 1 - start) * double(steps - step - 1);
      std::ostringstream line;
      line << "step " << std::setw(6) << step + 1 << "/" << steps << "  loss " << std::fixed << std::setprecision(4) << loss << "  lr "
           << std::scientific << std::setprecision(2) << opt.lr << "  |g| " << std::fixed << std::setprecision(3) << norm << "  "
           << std::setprecision(0) << window_tokens / window_time << " tok/s  " << fmt_duration(elapsed) << " elapsed, eta "
           << fmt_duration(eta);
      if (rec.contains("val_loss")) line << "  val " << std::setprecision(4) << rec["val_loss"].get<double>();
      std::cout << (tty && !rec.contains("val_loss") ? "\r" : "") << line.str() << (tty && !rec.contains("val_loss") && !last ? "" : "\n")
                << std::flush;
      window_tokens = window_time = 0;
    }
    const bool stop_here = step + 1 == stop_at;
    if ((step + 1) % save_every == 0 || last || g_stop || stop_here) ckpt.save("last", *model, opt, sampler, step + 1, best_val);
    if (stop_here) {
      std::cout << "stopped at step " << step + 1 << " (--stop-at): checkpoint saved; continue with --resume " << out << std::endl;
      return 0;
    }
    if (g_stop) {
      std::cout << (tty ? "\n" : "") << (g_stop == SIGINT ? "interrupted" : "terminated") << " at step " << step + 1
                << ": checkpoint saved in " << (fs::path(out) / "last").string() << "; continue with --resume " << out << std::endl;
      return 0;
    }
  }
  std::cout << "done: " << steps << " steps" << (skipped ? ", " + std::to_string(skipped) + " skipped" : "") << "; best validation loss "
            << best_val << "; checkpoints in " << out << "/last and " << out << "/best\n";
  return 0;
}

}  // namespace difft::app
