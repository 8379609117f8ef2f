// block.h: the pre-norm decoder block (LLaMA-like, DIFF paper §2.2):
//   Y  = X + Attn(RMSNorm(X))
//   X' = Y + SwiGLU(RMSNorm(Y))
#pragma once
#include "nn/attention.h"

namespace difft::nn {

struct BlockOptions {
  int64_t d_model = 0, ffn_hidden = 0;
  int64_t attn_heads = 0, attn_kv_heads = 0;  // in the attention module's own counting
  bool diff = false;                          // MultiheadDiffAttention instead of the baseline
  int64_t layer_idx = 0;                      // DIFF: λ_init depth, 0-based
  double rope_theta = 10000.0, norm_eps = 1e-5;
  bool subln_affine = true;
  DType dtype = DType::Float32;
};

class DecoderBlock : public Module {
 public:
  DecoderBlock(const BlockOptions& opt, Generator& gen);
  Tensor forward(const Tensor& x, KVCache* cache = nullptr) const;  // (B, T, D) -> (B, T, D)
  void set_fused_attention(bool on);

  std::shared_ptr<RMSNorm> attn_norm, ffn_norm;
  std::shared_ptr<MultiheadAttention> attn;          // baseline, or
  std::shared_ptr<MultiheadDiffAttention> diff_attn;  // DIFF (registered as "attn" too)
  std::shared_ptr<SwiGLU> ffn;
};

}  // namespace difft::nn
