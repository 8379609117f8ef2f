// run_dir.h: the layout of a training run's folder, shared by train, sample, eval, info and plot.
//
//   <out>/config.json        the resolved training configuration (every flag)
//   <out>/log.jsonl          one JSON object per step; validation lines carry "val_loss"
//   <out>/tokenizer.json     the BPE tokenizer, when one is used ("byte" needs no file)
//   <out>/last/              model.safetensors + train_state.safetensors, every --save-every steps
//   <out>/best/              the same, at the best validation loss so far
//   <out>/cache/             tokenized data (apps/text/token_cache.h)
#pragma once
#include <memory>
#include <string>

#include "apps/text/tokenizer.h"
#include "models/lm.h"

namespace difft::app {

// A checkpoint folder: `dir` itself when it holds model.safetensors, else dir/last. Throws a
// one-line error that says what was expected when neither exists.
std::string resolve_checkpoint(const std::string& dir);

// The tokenizer a checkpoint was trained with: its metadata names "byte" or a file that sits in
// the checkpoint folder or its parent (the run folder).
std::unique_ptr<text::Tokenizer> checkpoint_tokenizer(const std::string& ckpt_dir, const std::string& tokenizer_name);

}  // namespace difft::app
