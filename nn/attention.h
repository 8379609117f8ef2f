// attention.h: causal self-attention, standard (baseline) and differential (DIFF Transformer).
//
// Each module has two paths that compute the same function:
//  - the reference path, composed of core ops (matmul, softmax, ...), which materialises the
//    (B, heads, T, T) maps: the code to read to understand the model;
//  - the fused path (default), core's attention / diff_attention ops: one (batch, head) at a time
//    in tiles with an online softmax, never storing the maps, with their own backward.
// tests/test_nn_attention.cpp holds one to the other.
//
// Shapes: B batch, T time, D = d_model. Baseline: H heads of d = D/H. DIFF: h = H/2 heads, each
// with Q1, Q2, K1, K2 of size d and V of size 2d (diff-transformer.md §1).
#pragma once
#include "nn/layers.h"

namespace difft::nn {

// (T, S) additive causal mask aligned bottom-right (S >= T: query t is position S − T + t and sees
// keys s <= S − T + t): 0 where visible, -inf elsewhere.
Tensor causal_mask(int64_t T, int64_t S, DType dtype, Device device);

// Keys and values of the positions seen so far, for incremental decoding. k (B, S, kv heads, d),
// v (B, S, kv heads, dv), after RoPE. Empty (undefined) before the first call.
struct KVCache {
  Tensor k, v;
  int64_t length() const { return k.defined() ? k.size(1) : 0; }
};

// Baseline multi-head attention with RoPE and optional GQA (n_kv_heads divides n_heads).
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t d_model, int64_t n_heads, int64_t n_kv_heads, double rope_theta, Generator& gen,
                     DType dtype = DType::Float32);
  // x (B, T, D) -> (B, T, D). With a cache, x holds the next T positions: RoPE starts at
  // cache->length() and the new keys/values are appended to the cache.
  Tensor forward(const Tensor& x, KVCache* cache = nullptr) const;
  Tensor forward_reference(const Tensor& x, KVCache* cache = nullptr) const;
  Tensor forward_fused(const Tensor& x, KVCache* cache = nullptr) const;

  bool use_fused = true;
  int64_t n_heads, n_kv_heads, head_dim;
  Rotary rotary;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
};

// λ_init(layer) = 0.8 − 0.6·exp(−0.3·layer), layer counted from 0 (spec §2, §4.4).
double lambda_init_fn(int64_t layer_idx);

// Multi-head differential attention. n_heads is the DIFF head count h (half the baseline's),
// n_kv_heads likewise in DIFF heads. Parameters: q_proj (D, D), k_proj/v_proj (D/n_rep, D),
// out_proj (D, D), lambda_{q1,k1,q2,k2} (d) ~ N(0, 0.1²), subln.weight (2d) = 1.
class MultiheadDiffAttention : public Module {
 public:
  MultiheadDiffAttention(int64_t d_model, int64_t n_heads, int64_t n_kv_heads, int64_t layer_idx, double rope_theta,
                         Generator& gen, bool subln_affine = true, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x, KVCache* cache = nullptr) const;  // as MultiheadAttention
  Tensor forward_reference(const Tensor& x, KVCache* cache = nullptr) const;
  Tensor forward_fused(const Tensor& x, KVCache* cache = nullptr) const;
  // λ = exp(λq1·λk1) − exp(λq2·λk2) + λ_init, a 0-d tensor (one per layer, shared by heads).
  Tensor lambda() const;

  bool use_fused = true;
  int64_t n_heads, n_kv_heads, head_dim, layer_idx;
  double lambda_init;
  Rotary rotary;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  Tensor lambda_q1, lambda_k1, lambda_q2, lambda_k2;
  std::shared_ptr<RMSNorm> subln;  // over 2d, weight shared by all heads; null without the gain

 private:
  // The part after attention: per-head RMSNorm over 2d, × (1 − λ_init), out_proj.
  Tensor finish(const Tensor& o) const;  // o (B, T, h, 2d)
};

}  // namespace difft::nn
