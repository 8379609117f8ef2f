#include "models/config.h"

#include "core/error.h"
#include "nn/layers.h"

namespace difft::models {

int64_t ModelConfig::ffn() const { return ffn_hidden > 0 ? ffn_hidden : nn::swiglu_hidden(d_model); }

void ModelConfig::validate() const {
  DIFFT_CHECK(attention == "diff" || attention == "standard", "config: attention must be 'diff' or 'standard', got '", attention, "'");
  DIFFT_CHECK(vocab_size > 0, "config: vocab_size must be positive, got ", vocab_size);
  DIFFT_CHECK(d_model > 0, "config: d_model must be positive, got ", d_model);
  DIFFT_CHECK(n_layers > 0, "config: n_layers must be at least 1, got ", n_layers);
  DIFFT_CHECK(n_heads > 0 && d_model % n_heads == 0, "config: n_heads (", n_heads, ") must divide d_model (", d_model, ")");
  DIFFT_CHECK(head_dim() % 2 == 0, "config: head dim d_model/n_heads = ", head_dim(), " must be even for RoPE");
  DIFFT_CHECK(n_kv_heads >= 0 && n_heads % kv_heads() == 0, "config: n_kv_heads (", n_kv_heads, ") must divide n_heads (", n_heads, ")");
  if (is_diff()) {
    DIFFT_CHECK(n_heads % 2 == 0 && kv_heads() % 2 == 0, "config: the DIFF model halves the head counts, so n_heads (", n_heads,
                ") and n_kv_heads (", kv_heads(), ") must be even");
  }
  DIFFT_CHECK(ffn_hidden >= 0, "config: ffn_hidden must be >= 0 (0 = 8/3·d_model), got ", ffn_hidden);
  DIFFT_CHECK(max_seq_len > 0, "config: max_seq_len must be positive, got ", max_seq_len);
  DIFFT_CHECK(rope_theta > 0 && norm_eps > 0, "config: rope_theta and norm_eps must be positive");
}

}  // namespace difft::models
