#include "nn/attention.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/ops.h"

namespace difft::nn {

Tensor causal_mask(int64_t T, int64_t S, DType dtype, Device device) {
  std::vector<double> m(size_t(T * S), 0.0);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = S - T + i + 1; j < S; ++j) m[size_t(i * S + j)] = -std::numeric_limits<double>::infinity();
  return from_vector(m, {T, S}, {dtype, device});
}

// Appends this step's keys and values (B, T, heads, c) to the cache and returns all of them.
static std::pair<Tensor, Tensor> extend(KVCache* cache, const Tensor& k, const Tensor& v) {
  if (!cache) return {k, v};
  if (cache->k.defined()) {
    cache->k = cat({cache->k, k}, 1);
    cache->v = cat({cache->v, v}, 1);
  } else {
    cache->k = k.contiguous(), cache->v = v.contiguous();
  }
  return {cache->k, cache->v};
}

// (B, Hkv, T, c) -> (B, Hkv·n_rep, T, c): kv head g serves query heads g·n_rep ... g·n_rep+n_rep−1.
static Tensor repeat_kv(const Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), C = x.size(3);
  return x.unsqueeze(2).expand({B, H, n_rep, T, C}).reshape({B, H * n_rep, T, C});
}

static void check_input(const char* who, const Tensor& x, int64_t D) {
  DIFFT_CHECK(x.dim() == 3 && x.size(2) == D, who, ": expected input (B, T, ", D, "), got ", shape_str(x.shape()));
}

// ---- baseline -------------------------------------------------------------------------------
MultiheadAttention::MultiheadAttention(int64_t D, int64_t H, int64_t Hkv, double theta, Generator& gen, DType dtype)
    : n_heads(H), n_kv_heads(Hkv), head_dim(H > 0 ? D / H : 0), rotary(theta) {
  DIFFT_CHECK(H > 0 && Hkv > 0 && D % H == 0 && H % Hkv == 0 && head_dim % 2 == 0, "MultiheadAttention: need d_model (",
              D, ") divisible by n_heads (", H, "), n_heads divisible by n_kv_heads (", Hkv, "), and an even head dim");
  q_proj = register_module("q_proj", std::make_shared<Linear>(D, H * head_dim, gen, false, dtype));
  k_proj = register_module("k_proj", std::make_shared<Linear>(D, Hkv * head_dim, gen, false, dtype));
  v_proj = register_module("v_proj", std::make_shared<Linear>(D, Hkv * head_dim, gen, false, dtype));
  out_proj = register_module("out_proj", std::make_shared<Linear>(H * head_dim, D, gen, false, dtype));
}

Tensor MultiheadAttention::forward(const Tensor& x, KVCache* cache) const {
  return use_fused ? forward_fused(x, cache) : forward_reference(x, cache);
}

Tensor MultiheadAttention::forward_reference(const Tensor& x, KVCache* cache) const {
  check_input("MultiheadAttention", x, q_proj->in_features);
  const int64_t B = x.size(0), T = x.size(1), d = head_dim, pos = cache ? cache->length() : 0;
  const Tensor q = rotary.forward(q_proj->forward(x).view({B, T, n_heads, d}), pos).transpose(1, 2);  // (B, H, T, d)
  auto [k_all, v_all] = extend(cache, rotary.forward(k_proj->forward(x).view({B, T, n_kv_heads, d}), pos),
                               v_proj->forward(x).view({B, T, n_kv_heads, d}));
  const Tensor k = k_all.transpose(1, 2), v = v_all.transpose(1, 2);                                      // (B, Hkv, S, d)
  const int64_t n_rep = n_heads / n_kv_heads, S = k.size(2);
  Tensor scores = matmul(q, repeat_kv(k, n_rep).transpose(-1, -2)) * (1.0 / std::sqrt(double(d)));        // (B, H, T, S)
  const Tensor a = softmax(scores + causal_mask(T, S, x.dtype(), x.device()), -1);
  const Tensor o = matmul(a, repeat_kv(v, n_rep)).transpose(1, 2);                                        // (B, T, H, d)
  return out_proj->forward(o.reshape({B, T, n_heads * d}));
}

Tensor MultiheadAttention::forward_fused(const Tensor& x, KVCache* cache) const {
  check_input("MultiheadAttention", x, q_proj->in_features);
  const int64_t B = x.size(0), T = x.size(1), d = head_dim, pos = cache ? cache->length() : 0;
  const Tensor q = rotary.forward(q_proj->forward(x).view({B, T, n_heads, d}), pos);
  auto [k, v] = extend(cache, rotary.forward(k_proj->forward(x).view({B, T, n_kv_heads, d}), pos),
                       v_proj->forward(x).view({B, T, n_kv_heads, d}));
  const Tensor o = attention(q, k, v, 1.0 / std::sqrt(double(d)), /*causal=*/true);  // (B, T, H, d)
  return out_proj->forward(o.reshape({B, T, n_heads * d}));
}

// ---- DIFF -----------------------------------------------------------------------------------
double lambda_init_fn(int64_t layer_idx) { return 0.8 - 0.6 * std::exp(-0.3 * double(layer_idx)); }

MultiheadDiffAttention::MultiheadDiffAttention(int64_t D, int64_t h, int64_t hkv, int64_t layer, double theta, Generator& gen,
                                               bool subln_affine, DType dtype)
    : n_heads(h), n_kv_heads(hkv), head_dim(h > 0 ? D / h / 2 : 0), layer_idx(layer),
      lambda_init(lambda_init_fn(layer)), rotary(theta) {
  DIFFT_CHECK(h > 0 && hkv > 0 && D % (2 * h) == 0 && h % hkv == 0 && head_dim % 2 == 0 && layer >= 0,
              "MultiheadDiffAttention: need d_model (", D, ") divisible by 2·n_heads (", 2 * h, "), n_heads divisible by ",
              "n_kv_heads (", hkv, "), an even head dim and layer_idx >= 0 (", layer, ")");
  const int64_t d = head_dim;
  q_proj = register_module("q_proj", std::make_shared<Linear>(D, 2 * h * d, gen, false, dtype));
  k_proj = register_module("k_proj", std::make_shared<Linear>(D, 2 * hkv * d, gen, false, dtype));
  v_proj = register_module("v_proj", std::make_shared<Linear>(D, 2 * hkv * d, gen, false, dtype));
  out_proj = register_module("out_proj", std::make_shared<Linear>(2 * h * d, D, gen, false, dtype));
  lambda_q1 = register_parameter("lambda_q1", normal({d}, 0.0, 0.1, gen, {dtype}));
  lambda_k1 = register_parameter("lambda_k1", normal({d}, 0.0, 0.1, gen, {dtype}));
  lambda_q2 = register_parameter("lambda_q2", normal({d}, 0.0, 0.1, gen, {dtype}));
  lambda_k2 = register_parameter("lambda_k2", normal({d}, 0.0, 0.1, gen, {dtype}));
  if (subln_affine) subln = register_module("subln", std::make_shared<RMSNorm>(2 * d, 1e-5, dtype));
}

Tensor MultiheadDiffAttention::lambda() const {
  return exp(sum(lambda_q1 * lambda_k1)) - exp(sum(lambda_q2 * lambda_k2)) + lambda_init;
}

Tensor MultiheadDiffAttention::forward(const Tensor& x, KVCache* cache) const {
  return use_fused ? forward_fused(x, cache) : forward_reference(x, cache);
}

Tensor MultiheadDiffAttention::finish(const Tensor& o) const {
  const int64_t B = o.size(0), T = o.size(1);
  const Tensor w = subln ? subln->weight : ones({o.size(-1)}, {o.dtype(), o.device()});  // no gain: plain RMS scaling
  const Tensor normed = rms_norm(o, w, 1e-5) * (1.0 - lambda_init);  // per (token, head) over 2d
  return out_proj->forward(normed.reshape({B, T, 2 * n_heads * head_dim}));
}

Tensor MultiheadDiffAttention::forward_reference(const Tensor& x, KVCache* cache) const {
  check_input("MultiheadDiffAttention", x, q_proj->in_features);
  const int64_t B = x.size(0), T = x.size(1), d = head_dim, h = n_heads, hkv = n_kv_heads, n_rep = h / hkv;
  const int64_t pos = cache ? cache->length() : 0;
  // q (B, T, 2h, d): sub-head 2i is Q1 of head i, 2i+1 its Q2. RoPE on every d-wide sub-head.
  const Tensor q = rotary.forward(q_proj->forward(x).view({B, T, 2 * h, d}), pos).view({B, T, h, 2, d});
  auto [k_all, v_all] = extend(cache, rotary.forward(k_proj->forward(x).view({B, T, 2 * hkv, d}), pos),
                               v_proj->forward(x).view({B, T, hkv, 2 * d}));
  const int64_t S = k_all.size(1);
  const Tensor k = k_all.view({B, S, hkv, 2, d});
  const Tensor v = v_all.transpose(1, 2);  // (B, hkv, S, 2d)
  const Tensor q1 = q.select(3, 0).transpose(1, 2), q2 = q.select(3, 1).transpose(1, 2);  // (B, h, T, d)
  const Tensor k1 = repeat_kv(k.select(3, 0).transpose(1, 2), n_rep);                       // (B, h, T, d)
  const Tensor k2 = repeat_kv(k.select(3, 1).transpose(1, 2), n_rep);
  const double scale = 1.0 / std::sqrt(double(d));
  const Tensor mask = causal_mask(T, S, x.dtype(), x.device());
  const Tensor a1 = softmax(matmul(q1, k1.transpose(-1, -2)) * scale + mask, -1);  // (B, h, T, S)
  const Tensor a2 = softmax(matmul(q2, k2.transpose(-1, -2)) * scale + mask, -1);
  const Tensor o = matmul(a1 - lambda() * a2, repeat_kv(v, n_rep));                // (B, h, T, 2d)
  return finish(o.transpose(1, 2));
}

Tensor MultiheadDiffAttention::forward_fused(const Tensor& x, KVCache* cache) const {
  check_input("MultiheadDiffAttention", x, q_proj->in_features);
  const int64_t B = x.size(0), T = x.size(1), d = head_dim, h = n_heads, hkv = n_kv_heads;
  const int64_t pos = cache ? cache->length() : 0;
  const Tensor q = rotary.forward(q_proj->forward(x).view({B, T, 2 * h, d}), pos);
  auto [k, v] = extend(cache, rotary.forward(k_proj->forward(x).view({B, T, 2 * hkv, d}), pos),
                       v_proj->forward(x).view({B, T, hkv, 2 * d}));
  const Tensor o = diff_attention(q, k, v, lambda(), 1.0 / std::sqrt(double(d)), /*causal=*/true);  // (B, T, h, 2d)
  return finish(o);
}

}  // namespace difft::nn
