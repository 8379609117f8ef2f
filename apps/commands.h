// commands.h: the subcommands of the difft command. Each has a cli::Command (its flags and their
// defaults) and a run function returning the exit status; main.cpp lists them.
#pragma once
#include "apps/cli.h"

namespace difft::app {

cli::Command demo_command();
int run_demo(const cli::Command& c);

}  // namespace difft::app
