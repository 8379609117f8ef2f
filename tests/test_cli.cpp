// test_cli.cpp: the hand-written flag parsing of the difft command (apps/cli.h). The command
// itself runs end to end as the cli_* CTest entries (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <sstream>

#include "apps/cli.h"

using difft::cli::Command;
using difft::cli::UsageError;

namespace {
Command demo() {
  return Command("demo", "a demo", {{"steps", "100", "steps"}, {"lr", "0.1", "learning rate"},
                                    {"verbose", "0", "talk more", true}});
}
}  // namespace

TEST_CASE("flags keep their defaults unless given, in both spellings") {
  Command c = demo();
  REQUIRE(c.parse({}));
  CHECK(c.integer("steps") == 100);
  CHECK(c.number_above("lr", 0.0) == doctest::Approx(0.1));
  CHECK_FALSE(c.flag("verbose"));

  Command d = demo();
  REQUIRE(d.parse({"--steps", "7", "--lr=0.25", "--verbose"}));
  CHECK(d.integer("steps") == 7);
  CHECK(d.number_above("lr", 0.0) == 0.25);
  CHECK(d.flag("verbose"));
  CHECK(d.str("steps") == "7");

  Command e = demo();  // the last occurrence wins, as in most tools
  REQUIRE(e.parse({"--steps=1", "--steps", "2"}));
  CHECK(e.integer("steps") == 2);
}

TEST_CASE("--help and -h stop parsing") {
  Command c = demo();
  CHECK_FALSE(c.parse({"--help"}));
  Command d = demo();
  CHECK_FALSE(d.parse({"--steps", "3", "-h", "--bogus"}));
}

TEST_CASE("every mistake is a one-line UsageError naming the command and the flag") {
  auto parse = [](std::vector<std::string> args) { Command c = demo(); c.parse(args); return c; };
  CHECK_THROWS_WITH_AS(parse({"--bogus"}), "demo: unknown flag '--bogus'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--bogus=3"}), "demo: unknown flag '--bogus'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"extra"}), "demo: unexpected argument 'extra'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"-s"}), "demo: unexpected argument '-s'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--steps"}), "demo: --steps needs a value", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--verbose=1"}), "demo: --verbose takes no value", UsageError);

  CHECK_THROWS_WITH_AS(parse({"--steps", "x"}).integer("steps"), "demo: --steps expects a whole number, got 'x'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--steps", "3.5"}).integer("steps"), "demo: --steps expects a whole number, got '3.5'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--steps="}).integer("steps"), "demo: --steps expects a whole number, got ''", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--steps", "0"}).integer("steps", 1, 10), "demo: --steps must be in [1, 10], got 0", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--steps", "11"}).integer("steps", 1, 10), "demo: --steps must be in [1, 10], got 11", UsageError);
  CHECK(parse({"--steps", "10"}).integer("steps", 1, 10) == 10);

  CHECK_THROWS_WITH_AS(parse({"--lr", "fast"}).number_above("lr", 0.0), "demo: --lr expects a number, got 'fast'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--lr", "inf"}).number_above("lr", 0.0), "demo: --lr expects a number, got 'inf'", UsageError);
  CHECK_THROWS_WITH_AS(parse({"--lr", "0"}).number_above("lr", 0.0), "demo: --lr must be > 0, got 0", UsageError);
  CHECK(parse({"--lr", "1e-3"}).number_above("lr", 0.0) == doctest::Approx(1e-3));
}

TEST_CASE("help lists every flag with its default") {
  std::ostringstream os;
  demo().print_help(os);
  const std::string h = os.str();
  CHECK(h.find("difft demo [flags]") != std::string::npos);
  CHECK(h.find("--steps N") != std::string::npos);
  CHECK(h.find("(default: 100)") != std::string::npos);
  CHECK(h.find("--lr X") != std::string::npos);
  CHECK(h.find("(default: 0.1)") != std::string::npos);
  CHECK(h.find("--verbose ") != std::string::npos);
  CHECK(h.find("(off by default)") != std::string::npos);
}
