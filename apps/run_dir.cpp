#include "apps/run_dir.h"

#include <filesystem>

#include "core/error.h"

namespace difft::app {
namespace fs = std::filesystem;

std::string resolve_checkpoint(const std::string& dir) {
  DIFFT_CHECK(fs::is_directory(dir), "checkpoint folder '", dir, "' does not exist (pass the --out folder of a training run)");
  if (fs::exists(fs::path(dir) / "model.safetensors")) return dir;
  if (fs::exists(fs::path(dir) / "last" / "model.safetensors")) return (fs::path(dir) / "last").string();
  throw Error("'" + dir + "' holds no model.safetensors (nor last/model.safetensors): is it a difft training run?");
}

std::unique_ptr<text::Tokenizer> checkpoint_tokenizer(const std::string& ckpt_dir, const std::string& name) {
  if (name == "byte") return text::load_tokenizer("byte");
  for (const fs::path& p : {fs::path(ckpt_dir) / name, fs::path(ckpt_dir).parent_path() / name})
    if (fs::exists(p)) return text::load_tokenizer(p.string());
  throw Error("checkpoint in '" + ckpt_dir + "' was trained with tokenizer '" + name + "', which is not next to it or in its run folder");
}

}  // namespace difft::app
