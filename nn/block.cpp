#include "nn/block.h"

#include "core/ops.h"

namespace difft::nn {

DecoderBlock::DecoderBlock(const BlockOptions& o, Generator& gen) {
  attn_norm = register_module("attn_norm", std::make_shared<RMSNorm>(o.d_model, o.norm_eps, o.dtype));
  if (o.diff)
    diff_attn = register_module("attn", std::make_shared<MultiheadDiffAttention>(o.d_model, o.attn_heads, o.attn_kv_heads, o.layer_idx,
                                                                                 o.rope_theta, gen, o.subln_affine, o.dtype));
  else
    attn = register_module("attn", std::make_shared<MultiheadAttention>(o.d_model, o.attn_heads, o.attn_kv_heads, o.rope_theta, gen, o.dtype));
  ffn_norm = register_module("ffn_norm", std::make_shared<RMSNorm>(o.d_model, o.norm_eps, o.dtype));
  ffn = register_module("ffn", std::make_shared<SwiGLU>(o.d_model, o.ffn_hidden, gen, o.dtype));
}

Tensor DecoderBlock::forward(const Tensor& x, KVCache* cache) const {
  const Tensor h = attn_norm->forward(x);
  const Tensor y = x + (diff_attn ? diff_attn->forward(h, cache) : attn->forward(h, cache));
  return y + ffn->forward(ffn_norm->forward(y));
}

void DecoderBlock::set_fused_attention(bool on) {
  if (diff_attn) diff_attn->use_fused = on;
  else attn->use_fused = on;
}

}  // namespace difft::nn
