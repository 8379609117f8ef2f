// bench_train_step.cpp: one full training step of both language models, as a trainer runs it:
//   zero_grad -> forward -> cross-entropy -> backward -> clip_grad_norm(1.0) -> AdamW step
// for two configurations (bench/README.md; bench/train_step_torch.py runs the same in PyTorch):
//   small:  vocab 256, d_model 256, 6 layers, 8 baseline heads, seq 256, batch 8
//   medium: vocab 256, d_model 512, 8 layers, 8 baseline heads, seq 512, batch 4
// each for the DIFF Transformer ("diff") and the baseline ("standard").
//
// Counters:
//   tokens/s        B·T tokens per step / wall time (a rate; the benchmark uses real time)
//   GFLOP/s         model FLOPs per second, by the formula in model_flops_per_token() below
//                   (MFLOP/token: that formula's value)
//   peak_frac       GFLOP/s over the machine's sgemm peak, measured in this process at start-up
//   fwd_ms, bwd_ms, opt_ms  wall time per step of forward+loss, backward, and clip+AdamW
//   cpu_tokens/s    B·T tokens per step / CPU seconds of the whole process (all threads): less
//                   sensitive to other load on the machine than tokens/s; spinning threads count
//   cpu_peak_frac   model FLOPs per CPU second over sgemm FLOPs per CPU second (both measured here)
//   loss            the loss of the last timed step (training on a fixed random batch: it falls)
//
// Flags (before or among Google Benchmark's own):
//   --attention=fused|reference  the fused attention kernels (default) or the reference path built
//                                from matmul/softmax; also DIFFT_BENCH_ATTENTION
//   --steps=N                    timed steps per benchmark (default 3); also DIFFT_BENCH_STEPS
//   --warmup=N                   untimed steps first (default 1); also DIFFT_BENCH_WARMUP
// Threads: DIFFT_NUM_THREADS (default: all cores), reported as the context key difft_threads.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "core/generator.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "models/lm.h"
#include "optim/optim.h"

using namespace difft;

namespace {

struct BenchConfig {
  const char* name;
  int64_t vocab, d_model, layers, heads, seq, batch;
};
constexpr BenchConfig kConfigs[] = {
    {"small", 256, 256, 6, 8, 256, 8},
    {"medium", 256, 512, 8, 8, 512, 4},
};

struct Options {
  bool fused = true;
  int64_t steps = 3, warmup = 1;
} g_opt;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The machine's sgemm throughput: cblas_sgemm of 2048³ on difft's thread count (OpenBLAS's own
// threads, lent for this measurement: difft keeps BLAS single-threaded otherwise), best of 3 after
// one warm-up call, in GFLOP/s (2·n³ FLOPs per product): per second of wall time, and per second of
// the process's CPU time (the figure a loaded machine disturbs least).
struct Peak {
  double wall_gflops = 0, cpu_gflops = 0;
};
const Peak& sgemm_peak() {
  static const Peak peak = [] {
    constexpr int n = 2048;
    std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7) * 0.25f, b[i] = float(i % 5) * 0.5f;
    BlasThreadsGuard threads(num_threads());
    double best_wall = 1e30, best_cpu = 1e30;
    for (int rep = 0; rep < 4; ++rep) {
      const auto t0 = Clock::now();
      const double c0 = process_cpu_seconds();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      if (rep == 0) continue;
      best_wall = std::min(best_wall, seconds_since(t0));
      best_cpu = std::min(best_cpu, process_cpu_seconds() - c0);
    }
    benchmark::DoNotOptimize(c.data());
    const double gflop = 2.0 * double(n) * n * n / 1e9;
    return Peak{gflop / best_wall, gflop / best_cpu};
  }();
  return peak;
}

models::ModelConfig model_config(const BenchConfig& c, const char* kind) {
  models::ModelConfig cfg;
  cfg.attention = kind;
  cfg.vocab_size = c.vocab;
  cfg.d_model = c.d_model;
  cfg.n_layers = c.layers;
  cfg.n_heads = c.heads;
  cfg.max_seq_len = c.seq;
  cfg.fused_attention = g_opt.fused;
  cfg.seed = 1;
  return cfg;
}

// Model FLOPs per trained token (forward + backward = 3 × forward), the usual
// "6·N + attention" count (Kaplan et al. 2020; PaLM appendix B), with the causal half:
//   6 · N_matmul                N_matmul = parameters used in matrix products: every 2-d
//                               parameter except the embedding table (a lookup, not a product)
//   + 6 · L · T · D_attn        per layer, QKᵀ and AV each cost 2·D_attn FLOPs per (query, key)
//                               pair; causal: T/2 keys per query on average -> 2·T·D_attn forward,
//                               ×3 with backward. PaLM's 12·L·T·D counts the full T×T map.
// D_attn = d_model for both models: DIFF's two maps of h heads × d span 2h·d = d_model in QKᵀ, and
// (A1 − λA2)V spans h × 2d = d_model. Norms, RoPE, softmax and the optimizer are not counted.
double model_flops_per_token(const models::CausalLM& m) {
  const models::ModelConfig& cfg = m.config();
  double n_matmul = 0;
  for (const auto& [name, p] : m.named_parameters())
    if (p.dim() == 2 && (name != "embed.weight" || cfg.tie_embeddings)) n_matmul += double(p.numel());
  return 6.0 * n_matmul + 6.0 * double(cfg.n_layers) * double(cfg.max_seq_len) * double(cfg.d_model);
}

void BM_train_step(benchmark::State& state, BenchConfig c, const char* kind) {
  auto model = models::make_model(model_config(c, kind));
  const std::vector<Tensor> params = model->parameters();
  optim::AdamWOptions ao;
  ao.lr = 3e-4, ao.beta1 = 0.9, ao.beta2 = 0.95, ao.weight_decay = 0.1;
  optim::AdamW opt(optim::decay_groups(model->named_parameters(), ao.weight_decay), ao);

  Generator gen(1234);
  const Tensor seq = randint(0, c.vocab, {c.batch, c.seq + 1}, gen);
  const Tensor tokens = seq.slice(1, 0, c.seq).contiguous(), targets = seq.slice(1, 1, c.seq + 1).contiguous();

  double t_fwd = 0, t_bwd = 0, t_opt = 0, last_loss = 0;
  auto step = [&](bool timed) {
    auto t0 = Clock::now();
    opt.zero_grad();
    const Tensor loss = model->loss(tokens, targets);
    const double f = seconds_since(t0);
    t0 = Clock::now();
    loss.backward();
    const double b = seconds_since(t0);
    t0 = Clock::now();
    optim::clip_grad_norm(params, 1.0);
    opt.step();
    const double o = seconds_since(t0);
    last_loss = loss.item();
    if (timed) t_fwd += f, t_bwd += b, t_opt += o;
  };
  for (int64_t i = 0; i < g_opt.warmup; ++i) step(false);
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) step(true);
  const double cpu_s = process_cpu_seconds() - cpu0;

  const double tokens_per_step = double(c.batch * c.seq), it = double(state.iterations());
  const double flops_per_step = model_flops_per_token(*model) * tokens_per_step;
  state.counters["tokens/s"] = benchmark::Counter(tokens_per_step * it, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_step * it / 1e9, benchmark::Counter::kIsRate);
  // peak_frac needs the step time; the timed loop's own sum is the same wall time the rate uses.
  const double step_s = (t_fwd + t_bwd + t_opt) / it;
  state.counters["peak_frac"] = flops_per_step / step_s / 1e9 / sgemm_peak().wall_gflops;
  state.counters["cpu_peak_frac"] = flops_per_step * it / cpu_s / 1e9 / sgemm_peak().cpu_gflops;
  state.counters["cpu_tokens/s"] = tokens_per_step * it / cpu_s;
  state.counters["fwd_ms"] = t_fwd / it * 1e3;
  state.counters["bwd_ms"] = t_bwd / it * 1e3;
  state.counters["opt_ms"] = t_opt / it * 1e3;
  state.counters["loss"] = last_loss;
  state.counters["params"] = double(model->num_parameters());
  state.counters["MFLOP/token"] = model_flops_per_token(*model) / 1e6;
  state.SetLabel(std::string(c.name) + "/" + kind + (g_opt.fused ? "/fused" : "/reference"));
}

// Parses and removes this program's flags; Google Benchmark gets the rest.
int64_t parse_count(const char* what, const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (!end || *end != '\0' || v < 0) {
    std::cerr << "bench_train_step: " << what << " needs a whole number >= 0, got '" << text << "'\n";
    std::exit(2);
  }
  return v;
}
void set_attention(const std::string& v) {
  if (v != "fused" && v != "reference") {
    std::cerr << "bench_train_step: --attention must be fused or reference, got '" << v << "'\n";
    std::exit(2);
  }
  g_opt.fused = v == "fused";
}
void parse_flags(int& argc, char** argv) {
  if (const char* e = std::getenv("DIFFT_BENCH_ATTENTION")) set_attention(e);
  if (const char* e = std::getenv("DIFFT_BENCH_STEPS")) g_opt.steps = parse_count("DIFFT_BENCH_STEPS", e);
  if (const char* e = std::getenv("DIFFT_BENCH_WARMUP")) g_opt.warmup = parse_count("DIFFT_BENCH_WARMUP", e);
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--attention=", 0) == 0) set_attention(a.substr(12));
    else if (a.rfind("--steps=", 0) == 0) g_opt.steps = parse_count("--steps", argv[i] + 8);
    else if (a.rfind("--warmup=", 0) == 0) g_opt.warmup = parse_count("--warmup", argv[i] + 9);
    else argv[out++] = argv[i];
  }
  argc = out;
  g_opt.steps = std::max<int64_t>(1, g_opt.steps);
}

}  // namespace

int main(int argc, char** argv) {
  parse_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("difft_threads", std::to_string(num_threads()));
  benchmark::AddCustomContext("attention", g_opt.fused ? "fused" : "reference");
  benchmark::AddCustomContext("sgemm_peak_gflops", std::to_string(sgemm_peak().wall_gflops));
  benchmark::AddCustomContext("sgemm_peak_gflops_per_cpu_s", std::to_string(sgemm_peak().cpu_gflops));
  benchmark::AddCustomContext("steps", std::to_string(g_opt.steps));
  benchmark::AddCustomContext("warmup", std::to_string(g_opt.warmup));
  for (const BenchConfig& c : kConfigs)
    for (const char* kind : {"diff", "standard"})
      benchmark::RegisterBenchmark((std::string("train_step/") + c.name + "/" + kind).c_str(), BM_train_step, c, kind)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(g_opt.steps);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
