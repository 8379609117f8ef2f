#include "models/checkpoint.h"

#include <sstream>

#include "core/error.h"

namespace difft::models {

static std::string fmt_double(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

Metadata config_to_metadata(const ModelConfig& c) {
  return {{"format", "difft-1"},
          {"attention", c.attention},
          {"vocab_size", std::to_string(c.vocab_size)},
          {"d_model", std::to_string(c.d_model)},
          {"n_layers", std::to_string(c.n_layers)},
          {"n_heads", std::to_string(c.n_heads)},
          {"n_kv_heads", std::to_string(c.kv_heads())},
          {"ffn_hidden", std::to_string(c.ffn())},
          {"max_seq_len", std::to_string(c.max_seq_len)},
          {"rope_theta", fmt_double(c.rope_theta)},
          {"norm_eps", fmt_double(c.norm_eps)},
          {"tie_embeddings", c.tie_embeddings ? "true" : "false"},
          {"subln_affine", c.subln_affine ? "true" : "false"},
          {"seed", std::to_string(c.seed)},
          {"tokenizer", c.tokenizer}};
}

ModelConfig config_from_metadata(const Metadata& md, const std::string& where) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = md.find(key);
    DIFFT_CHECK(it != md.end(), where, ": checkpoint metadata lacks '", key, "' (not a difft checkpoint?)");
    return it->second;
  };
  auto integer = [&](const char* key) {
    const std::string& s = get(key);
    size_t pos = 0;
    long long v = 0;
    try { v = std::stoll(s, &pos); } catch (...) { pos = 0; }
    DIFFT_CHECK(pos == s.size() && !s.empty(), where, ": metadata '", key, "' is not an integer: '", s, "'");
    return int64_t(v);
  };
  auto real = [&](const char* key) {
    const std::string& s = get(key);
    size_t pos = 0;
    double v = 0;
    try { v = std::stod(s, &pos); } catch (...) { pos = 0; }
    DIFFT_CHECK(pos == s.size() && !s.empty(), where, ": metadata '", key, "' is not a number: '", s, "'");
    return v;
  };
  auto boolean = [&](const char* key) {
    const std::string& s = get(key);
    DIFFT_CHECK(s == "true" || s == "false", where, ": metadata '", key, "' must be true or false, got '", s, "'");
    return s == "true";
  };
  ModelConfig c;
  c.attention = get("attention");
  c.vocab_size = integer("vocab_size");
  c.d_model = integer("d_model");
  c.n_layers = integer("n_layers");
  c.n_heads = integer("n_heads");
  c.n_kv_heads = integer("n_kv_heads");
  c.ffn_hidden = integer("ffn_hidden");
  c.max_seq_len = integer("max_seq_len");
  c.rope_theta = real("rope_theta");
  c.norm_eps = real("norm_eps");
  c.tie_embeddings = boolean("tie_embeddings");
  if (md.count("subln_affine")) c.subln_affine = boolean("subln_affine");
  if (md.count("seed")) c.seed = uint64_t(integer("seed"));
  c.tokenizer = get("tokenizer");
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return c;
}

void save_model(const std::string& path, const CausalLM& model, const Metadata& extra) {
  Metadata md = config_to_metadata(model.config());
  for (const auto& [k, v] : extra) md[k] = v;
  save_safetensors(path, model.state_dict(), md);
}

static bool same_architecture(const ModelConfig& a, const ModelConfig& b) {
  return a.attention == b.attention && a.vocab_size == b.vocab_size && a.d_model == b.d_model && a.n_layers == b.n_layers &&
         a.n_heads == b.n_heads && a.kv_heads() == b.kv_heads() && a.ffn() == b.ffn() && a.tie_embeddings == b.tie_embeddings &&
         a.subln_affine == b.subln_affine;
}

static std::string describe(const ModelConfig& c) {
  std::ostringstream os;
  os << c.attention << " d_model=" << c.d_model << " n_layers=" << c.n_layers << " n_heads=" << c.n_heads
     << " n_kv_heads=" << c.kv_heads() << " ffn=" << c.ffn() << " vocab=" << c.vocab_size;
  return os.str();
}

void load_weights(const std::string& path, CausalLM& model) {
  const SafetensorsFile f = load_safetensors(path);
  const ModelConfig c = config_from_metadata(f.metadata, path);
  DIFFT_CHECK(same_architecture(c, model.config()), path, ": checkpoint is a ", describe(c), " model, but this model is ",
              describe(model.config()));
  model.load_state_dict(f.tensors);
}

std::shared_ptr<CausalLM> load_model(const std::string& path) {
  const SafetensorsFile f = load_safetensors(path);
  const ModelConfig c = config_from_metadata(f.metadata, path);
  auto model = make_model(c);
  model->load_state_dict(f.tensors);
  return model;
}

}  // namespace difft::models
