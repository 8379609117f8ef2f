// config.h: one configuration for both language models.
//
// n_heads and n_kv_heads are the BASELINE's counts. The DIFF model derives its own in one place,
// diff_heads() / diff_kv_heads(): half as many heads, each with two d-wide query/key halves and a
// 2d-wide value, so both models have the same attention width and (almost) the same parameters:
// DIFF adds 6d per layer (λq1, λk1, λq2, λk2 of size d, and the subln gain of size 2d).
#pragma once
#include <cstdint>
#include <string>

namespace difft::models {

struct ModelConfig {
  std::string attention = "diff";  // "diff" or "standard"
  int64_t vocab_size = 256;
  int64_t d_model = 128;
  int64_t n_layers = 4;
  int64_t n_heads = 8;       // baseline heads
  int64_t n_kv_heads = 0;    // baseline kv heads; 0 means n_heads (MHA)
  int64_t ffn_hidden = 0;    // 0 means int(8/3 · d_model)
  int64_t max_seq_len = 256;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = false;
  bool subln_affine = true;      // DIFF subln gain (spec §4.3: the current official code has one)
  bool fused_attention = true;   // the tiled kernel; false = the reference composed of ops
  uint64_t seed = 0;
  std::string tokenizer = "byte";

  bool is_diff() const { return attention == "diff"; }
  int64_t kv_heads() const { return n_kv_heads == 0 ? n_heads : n_kv_heads; }
  int64_t head_dim() const { return d_model / n_heads; }  // d, the same in both models
  int64_t ffn() const;
  int64_t diff_heads() const { return n_heads / 2; }      // h = baseline / 2
  int64_t diff_kv_heads() const { return kv_heads() / 2; }
  // Throws difft::Error naming the bad field and how to fix it.
  void validate() const;
};

}  // namespace difft::models
