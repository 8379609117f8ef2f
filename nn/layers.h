// layers.h: the building blocks of a LLaMA-style decoder. No biases unless asked (the DIFF paper
// uses none). Initialisation follows torch's nn.Linear (U(±1/√fan_in)) and the DIFF spec
// (docs: ../shared/docs/diff-transformer.md §5): norm gains 1, embeddings N(0, D^-1/2).
//
// Shapes: B batch, T time, C = in features, D model width, V vocab, F ffn hidden.
#pragma once
#include "core/generator.h"
#include "nn/module.h"

namespace difft::nn {

// y = x Wᵀ (+ b). weight (out, in) as torch stores it; x (..., in) -> (..., out).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = false, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;  // bias undefined unless requested
  int64_t in_features, out_features;
};

// Row lookup: idx int64 (...) -> (..., D). weight (V, D) ~ N(0, D^-1/2).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& idx) const;
  Tensor weight;
};

// x * rsqrt(mean(x², -1) + eps) * weight; weight (C) = 1. One fused op each way (core rms_norm).
class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-5, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;
  Tensor weight;
  double eps;
};

// SwiGLU feed-forward: down( silu(gate(x)) ⊙ up(x) ); D -> F -> D.
class SwiGLU : public Module {
 public:
  SwiGLU(int64_t dim, int64_t hidden, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;
  std::shared_ptr<Linear> gate_proj, up_proj, down_proj;
};

// Rotary position embedding (no parameters): rotates interleaved pairs (x[2m], x[2m+1]) of every
// head of x (B, T, H, d) by (pos_offset + t)·θ^(−2m/d), GPT-J style, as the DIFF spec requires.
// One fused op each way (core rope); the backward is the inverse rotation.
class Rotary : public Module {
 public:
  explicit Rotary(double theta = 10000.0) : theta(theta) {}
  Tensor forward(const Tensor& x, int64_t pos_offset = 0) const;
  double theta;
};

// The SwiGLU width of the paper's code: int(8/3 · D).
int64_t swiglu_hidden(int64_t dim);

}  // namespace difft::nn
