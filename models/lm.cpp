#include "models/lm.h"

#include "core/error.h"
#include "core/generator.h"
#include "core/ops.h"

namespace difft::models {

CausalLM::CausalLM(const ModelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  Generator gen(cfg_.seed);  // every parameter is drawn from this one stream, in registration order
  embed = register_module("embed", std::make_shared<nn::Embedding>(cfg_.vocab_size, cfg_.d_model, gen));
  layers = register_module("layers", std::make_shared<nn::ModuleList<nn::DecoderBlock>>());
  for (int64_t i = 0; i < cfg_.n_layers; ++i) {
    nn::BlockOptions o;
    o.d_model = cfg_.d_model;
    o.ffn_hidden = cfg_.ffn();
    o.diff = cfg_.is_diff();
    o.attn_heads = o.diff ? cfg_.diff_heads() : cfg_.n_heads;
    o.attn_kv_heads = o.diff ? cfg_.diff_kv_heads() : cfg_.kv_heads();
    o.layer_idx = i;
    o.rope_theta = cfg_.rope_theta;
    o.norm_eps = cfg_.norm_eps;
    o.subln_affine = cfg_.subln_affine;
    layers->append(std::make_shared<nn::DecoderBlock>(o, gen));
  }
  norm = register_module("norm", std::make_shared<nn::RMSNorm>(cfg_.d_model, cfg_.norm_eps));
  if (!cfg_.tie_embeddings) lm_head = register_module("lm_head", std::make_shared<nn::Linear>(cfg_.d_model, cfg_.vocab_size, gen));
  set_fused_attention(cfg_.fused_attention);
}

Tensor CausalLM::forward(const Tensor& tokens) const {
  std::vector<nn::KVCache> none;
  return forward(tokens, none);
}

Tensor CausalLM::forward(const Tensor& tokens, std::vector<nn::KVCache>& cache) const {
  DIFFT_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::Int64, "model: tokens must be int64 (B, T), got ",
              dtype_name(tokens.dtype()), " ", shape_str(tokens.shape()));
  DIFFT_CHECK(cache.empty() || cache.size() == layers->size(), "model: KV cache has ", cache.size(), " layers, the model ",
              layers->size(), " (make it with new_cache())");
  const int64_t past = cache.empty() ? 0 : cache[0].length();
  DIFFT_CHECK(past + tokens.size(1) <= cfg_.max_seq_len, "model: sequence of ", past + tokens.size(1),
              " tokens exceeds max_seq_len ", cfg_.max_seq_len);
  Tensor x = embed->forward(tokens);
  for (size_t i = 0; i < layers->size(); ++i) x = (*layers)[i].forward(x, cache.empty() ? nullptr : &cache[i]);
  x = norm->forward(x);
  return lm_head ? lm_head->forward(x) : matmul(x, embed->weight.t());
}

std::vector<nn::KVCache> CausalLM::new_cache() const { return std::vector<nn::KVCache>(layers->size()); }

Tensor CausalLM::loss(const Tensor& tokens, const Tensor& targets) const {
  return cross_entropy(forward(tokens), targets);
}

void CausalLM::set_fused_attention(bool on) {
  cfg_.fused_attention = on;
  for (size_t i = 0; i < layers->size(); ++i) (*layers)[i].set_fused_attention(on);
}

static ModelConfig with_kind(ModelConfig c, const char* kind) {
  c.attention = kind;
  return c;
}
TransformerLM::TransformerLM(ModelConfig cfg) : CausalLM(with_kind(std::move(cfg), "standard")) {}
DiffTransformerLM::DiffTransformerLM(ModelConfig cfg) : CausalLM(with_kind(std::move(cfg), "diff")) {}

std::shared_ptr<CausalLM> make_model(const ModelConfig& cfg) {
  if (cfg.attention == "standard") return std::make_shared<TransformerLM>(cfg);
  cfg.validate();
  return std::make_shared<DiffTransformerLM>(cfg);
}

}  // namespace difft::models
