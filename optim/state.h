// state.h: training-state checkpoints (the optimizer half of resuming a run; the model's
// weights go through models/checkpoint.h).
//
// One safetensors file holds every tensor of Optimizer::state_tensors() under its own name
// ("<param>.exp_avg", "<param>.exp_avg_sq" for AdamW, "<param>.momentum_buffer" for SGD with
// momentum) and string metadata:
//   optim.kind          "adamw" | "sgd"
//   optim.step          the step count t (AdamW's bias corrections depend on it)
//   optim.lr            the optimizer's current lr
//   optim.<hyperparam>  beta1, beta2, eps, weight_decay (AdamW); momentum, weight_decay,
//                       nesterov (SGD); informational, not restored
//   anything else       the caller's extra entries (schedule position, data RNG "seed:offset", ...)
// Doubles are written with 17 significant digits, so they read back exactly.
#pragma once
#include <string>

#include "core/safetensors.h"
#include "optim/optim.h"

namespace difft::optim {

// Throws if an extra key starts with "optim." (reserved for the entries above).
void save_train_state(const std::string& path, const Optimizer& opt, const Metadata& extra = {});

// Restores the state tensors in place and the step count, and returns the file's whole metadata
// (the optim.* entries included). Nothing is changed unless the file matches: same optimizer kind,
// and exactly this optimizer's state names with the same shapes and dtypes (mismatches are listed
// by name, as nn::Module::load_state_dict does).
Metadata load_train_state(const std::string& path, Optimizer& opt);

}  // namespace difft::optim
