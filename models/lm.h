// lm.h: the two causal language models.
//
//   tokens (B, T) int64 -> embed (B, T, D) -> n_layers × DecoderBlock -> RMSNorm -> lm_head -> (B, T, V)
//
// TransformerLM uses the baseline attention with n_heads heads; DiffTransformerLM uses
// MultiheadDiffAttention with config.diff_heads() heads and λ_init from each block's 0-based index.
// Parameter names follow the official code / LLaMA (see models/README in docs), matrices stored
// (out_features, in_features) as torch does, so a state_dict loads into PyTorch directly.
#pragma once
#include "models/config.h"
#include "nn/block.h"

namespace difft::models {

class CausalLM : public nn::Module {
 public:
  Tensor forward(const Tensor& tokens) const;                          // logits (B, T, V)
  // Incremental decoding: tokens (B, T) are the next T positions after those in `cache` (from
  // new_cache(): one KVCache per layer; an empty vector means no cache). Gives the logits that
  // forward() on the whole sequence gives for these positions. Run it under NoGradGuard.
  Tensor forward(const Tensor& tokens, std::vector<nn::KVCache>& cache) const;
  std::vector<nn::KVCache> new_cache() const;
  Tensor loss(const Tensor& tokens, const Tensor& targets) const;      // mean cross-entropy
  void set_fused_attention(bool on);
  const ModelConfig& config() const { return cfg_; }

  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::ModuleList<nn::DecoderBlock>> layers;
  std::shared_ptr<nn::RMSNorm> norm;
  std::shared_ptr<nn::Linear> lm_head;  // null when embeddings are tied

 protected:
  explicit CausalLM(const ModelConfig& cfg);

 private:
  ModelConfig cfg_;
};

class TransformerLM : public CausalLM {
 public:
  explicit TransformerLM(ModelConfig cfg);
};

class DiffTransformerLM : public CausalLM {
 public:
  explicit DiffTransformerLM(ModelConfig cfg);
};

// Builds the model the config names.
std::shared_ptr<CausalLM> make_model(const ModelConfig& cfg);

}  // namespace difft::models
