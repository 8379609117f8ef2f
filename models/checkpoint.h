// checkpoint.h: model weights in safetensors, with the config in the header's __metadata__.
//
// A checkpoint file loads in PyTorch with
//   from safetensors.torch import load_file; sd = load_file("model.safetensors")
// and its metadata (safe_open(...).metadata()) holds every ModelConfig field as a string:
// attention, vocab_size, d_model, n_layers, n_heads (the baseline's count), n_kv_heads,
// ffn_hidden, max_seq_len, rope_theta, norm_eps, tie_embeddings, subln_affine, seed, tokenizer.
#pragma once
#include <memory>
#include <string>

#include "core/safetensors.h"
#include "models/lm.h"

namespace difft::models {

Metadata config_to_metadata(const ModelConfig& cfg);
// Throws difft::Error naming the missing or malformed key.
ModelConfig config_from_metadata(const Metadata& md, const std::string& where);

void save_model(const std::string& path, const CausalLM& model, const Metadata& extra = {});
// Builds the model its metadata describes and loads the weights (bitwise).
std::shared_ptr<CausalLM> load_model(const std::string& path);
// Loads weights into an existing model; the file's config must describe the same architecture
// (a checkpoint of another kind or size is rejected with both configs in the message).
void load_weights(const std::string& path, CausalLM& model);

}  // namespace difft::models
