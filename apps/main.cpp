// main.cpp: the difft command.
//
//   difft train [flags]            train a DIFF Transformer or the baseline (apps/train.cpp)
//   difft sample|eval --ckpt DIR   generate / evaluate (apps/generate.cpp)
//   difft info [--ckpt DIR]        a checkpoint's config and parameters, or build/threads info
//   difft plot --runs A,B          loss curves as SVG (apps/plot.cpp)
//   difft tokenizer train [flags]  learn a BPE tokenizer (apps/tokenizer.cpp)
//   difft demo [flags]             train a small MLP with the engine's autograd (apps/demo.cpp)
//   difft threads                  same as `difft info --threads`
// Exit status: 0 success, 1 a failed run or a difft::Error, 2 a usage error.
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "apps/commands.h"
#include "core/error.h"
#include "core/parallel.h"

namespace {

using difft::cli::Command;

struct Entry {
  Command command;
  std::function<int(const Command&)> run;
};

int run_info(const Command& c) {
  if (!c.str("ckpt").empty()) return difft::app::run_info_ckpt(c);
  if (!c.flag("threads")) {
#ifdef DIFFT_WITH_CUDA
    std::cout << "difft: C++20 tensor library with autograd; CPU backend OpenBLAS + oneTBB; CUDA backend built\n";
#else
    std::cout << "difft: C++20 tensor library with autograd; CPU backend OpenBLAS + oneTBB; CUDA backend not built\n";
#endif
  }
  std::cout << difft::threading_info() << "\n";
  return 0;
}

std::vector<Entry> commands() {
  std::vector<Entry> cs;
  cs.push_back({difft::app::train_command(), difft::app::run_train});
  cs.push_back({difft::app::sample_command(), difft::app::run_sample});
  cs.push_back({difft::app::eval_command(), difft::app::run_eval});
  cs.push_back({difft::app::info_ckpt_command(), run_info});
  cs.push_back({difft::app::plot_command(), difft::app::run_plot});
  cs.push_back({difft::app::tokenizer_command(), difft::app::run_tokenizer});
  cs.push_back({difft::app::demo_command(), difft::app::run_demo});
  cs.push_back({Command("threads", "same as `difft info --threads`", {}), [](const Command&) {
                  std::cout << difft::threading_info() << "\n";
                  return 0;
                }});
  return cs;
}

void print_usage(std::ostream& os, const std::vector<Entry>& cs) {
  os << "usage: difft <command> [flags]   (difft <command> --help for one command)\n"
     << "environment: DIFFT_NUM_THREADS=N sets the threads of oneTBB and OpenBLAS (default: all cores)\n\n";
  for (const Entry& e : cs) {
    e.command.print_help(os);
    os << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Entry> cs = commands();
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr, cs);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(std::cout, cs);
    return 0;
  }
  try {
    for (Entry& e : cs) {
      if (e.command.name() != args[0]) continue;
      size_t first = 1;
      if (args[0] == "tokenizer") {  // the one command with a verb: `difft tokenizer train ...`
        if (args.size() < 2 || (args[1] != "train" && args[1] != "--help" && args[1] != "-h"))
          throw difft::cli::UsageError("tokenizer: expected `difft tokenizer train --data FILE ...`");
        first = args[1] == "train" ? 2 : 1;
      }
      if (!e.command.parse({args.begin() + int64_t(first), args.end()})) {
        e.command.print_help(std::cout);
        return 0;
      }
      return e.run(e.command);
    }
    std::cerr << "difft: unknown command '" << args[0] << "' (see difft --help)\n";
    return 2;
  } catch (const difft::cli::UsageError& e) {
    std::cerr << "difft " << e.what() << " (see difft --help)\n";
    return 2;
  } catch (const difft::Error& e) {
    std::cerr << "difft: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "difft: internal error: " << e.what() << "\n";
    return 1;
  }
}
