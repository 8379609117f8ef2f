// main.cpp: the difft command.
//
//   difft demo [flags]      train a small MLP with the engine's autograd (apps/demo.cpp)
//   difft info [--threads]  build and threading information
//   difft threads           same as `difft info --threads`
//
// The training command for the DIFF Transformer will be added here in the same style.
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
  cs.push_back({difft::app::demo_command(), difft::app::run_demo});
  cs.push_back({Command("info", "print how difft was built and how it uses threads (DIFFT_NUM_THREADS)",
                        {{"threads", "0", "print only the threading information", true}}),
                run_info});
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
      if (!e.command.parse({args.begin() + 1, args.end()})) {
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
