// commands.h: the subcommands of the difft command. Each has a cli::Command (its flags and their
// defaults) and a run function returning the exit status; main.cpp lists them.
#pragma once
#include "apps/cli.h"

namespace difft::app {

cli::Command demo_command();
int run_demo(const cli::Command& c);
cli::Command train_command();       // train.cpp
int run_train(const cli::Command& c);
cli::Command sample_command();      // generate.cpp
int run_sample(const cli::Command& c);
cli::Command eval_command();
int run_eval(const cli::Command& c);
cli::Command info_ckpt_command();
int run_info_ckpt(const cli::Command& c);
cli::Command plot_command();        // plot.cpp
int run_plot(const cli::Command& c);
cli::Command tokenizer_command();   // tokenizer.cpp
int run_tokenizer(const cli::Command& c);

}  // namespace difft::app
