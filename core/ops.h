// ops.h: every differentiable op of the engine, by group. One file per group under core/ops/
// holds the forward and the backward of each op; tests/test_ops_<group>.cpp holds its gradient
// checks. Device kernels are reached through core/dispatch.h.
//
// Shapes: broadcasting follows PyTorch. `dims` lists dims to reduce (negative counts from the
// end; empty = all dims).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace difft {

class Generator;

// ---- elementwise, binary (core/ops/binary.cpp) --------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to the larger (a on ties)
Tensor minimum(const Tensor& a, const Tensor& b);
// Comparisons: 1 or 0 in a's dtype, not differentiable.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);

// ---- elementwise, unary and with a scalar (core/ops/unary.cpp) -----------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);  // gradient sign(x), 0 at 0
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x)
Tensor relu(const Tensor& x);  // gradient 0 at 0
Tensor gelu(const Tensor& x);  // exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
Tensor pow(const Tensor& x, double exponent);
Tensor add(const Tensor& x, double s);
Tensor sub(const Tensor& x, double s);
Tensor sub(double s, const Tensor& x);
Tensor mul(const Tensor& x, double s);
Tensor div(const Tensor& x, double s);
Tensor div(double s, const Tensor& x);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(const Tensor& a, double s);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(const Tensor& a, double s);
Tensor operator/(double s, const Tensor& a);

// ---- reductions (core/ops/reduce.cpp) ------------------------------------------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// amax: gradient split evenly between tied maxima (as torch.amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // = amax
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, first maximum

// ---- matmul (core/ops/matmul.cpp) ----------------------------------------------------------
// a (..., M, K) @ b (..., K, N) with broadcast batch dims; 1-d operands as in torch.matmul.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- softmax and losses (core/ops/softmax.cpp, core/ops/loss.cpp) ---------------------------
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// logits (N, V) or (..., V); targets int64 of the leading shape. Mean over non-ignored targets
// (0 when all are ignored). Fused with log_softmax: never materialises the probabilities in forward.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

// ---- indexing and joining (core/ops/index.cpp) --------------------------------------------
// weight (V, C), idx int64 of any shape -> (*idx.shape, C). Backward: scatter-add into weight.
Tensor embedding(const Tensor& weight, const Tensor& idx);
// cond != 0 ? a : b, broadcast. Gradient flows to a and b, not cond.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // mask broadcast to x
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // views
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);      // views

// ---- regularisation (core/ops/dropout.cpp) -------------------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1-p) when training;
// identity otherwise. The mask comes from gen, so it is reproducible.
Tensor dropout(const Tensor& x, double p, Generator& gen, bool training = true);

// ---- fused transformer ops (core/ops/rmsnorm.cpp, core/ops/rope.cpp) -----------------------
// x (..., C), weight (C): x * rsqrt(mean(x^2, -1) + eps) * weight. One kernel each way.
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-5);
// x (B, T, H, D): rotary embedding on interleaved pairs (GPT-J style, as the DIFF spec requires),
// position of time index t = pos_offset + t, angle(t, m) = t * theta^(-2m/D).
Tensor rope(const Tensor& x, int64_t pos_offset = 0, double theta = 10000.0);

// ---- fused attention (core/ops/attention.cpp) -----------------------------------------------
// Standard attention. q (B, T, Hq, D), k (B, S, Hkv, D), v (B, S, Hkv, Dv), Hq % Hkv == 0:
// query head h reads kv head h / (Hq / Hkv) (GQA). Causal mask aligned bottom-right (S >= T):
// query t sees keys s <= t + (S - T).
//   out (B, T, Hq, Dv) = softmax(q kᵀ · scale + mask) v
// One (batch, head) at a time, in tiles, with an online softmax: no T×S map is stored. Saves the
// output and the row logsumexp; the backward recomputes probabilities tile by tile.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal = true);

// Differential attention in the flash1 form (diff-transformer.md §2-3). q (B, T, 2H, d) holds
// [Q1_i | Q2_i] as sub-heads 2i and 2i+1; k (B, S, 2Hkv, d) likewise [K1_g | K2_g]; v (B, S, Hkv, 2d);
// lambda a 0-d tensor (differentiable). Head i reads kv group g = i / (H / Hkv).
//   out (B, T, H, 2d) = softmax(Q1_i K1_gᵀ s + mask) V_g − λ · softmax(Q2_i K2_gᵀ s + mask) V_g
// Both maps run in one pass over the key tiles against the shared 2d-wide V.
Tensor diff_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& lambda, double scale,
                      bool causal = true);

}  // namespace difft
