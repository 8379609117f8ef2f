// cli.h: the hand-written command-line parsing of the difft command.
//
// A command has a name, a one-line summary and options, each with a default that --help prints.
// An option is given as `--name value` or `--name=value`; a switch (e.g. `--threads`) takes no
// value. Any mistake throws UsageError with a one-line message; main() prints it and exits 2.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sstream>
#include <system_error>
#include <vector>

namespace difft::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Messages are built with a stream: g++ 12 gives false -Wrestrict warnings on chains of
// std::string operator+ at -O3 (GCC bug 105329).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

struct Option {
  std::string name;         // without the leading "--"
  std::string value;        // the default until parse() replaces it; "0"/"1" for a switch
  std::string help;
  bool is_switch = false;
};

class Command {
 public:
  Command(std::string name, std::string summary, std::vector<Option> options)
      : name_(std::move(name)), summary_(std::move(summary)), options_(std::move(options)) {}

  const std::string& name() const { return name_; }
  const std::string& summary() const { return summary_; }
  const std::vector<Option>& options() const { return options_; }

  // Parses the arguments after the command name. Returns false when --help/-h was given.
  bool parse(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--help" || a == "-h") return false;
      if (a.rfind("--", 0) != 0) throw UsageError(cat(name_, ": unexpected argument '", a, "'"));
      const size_t eq = a.find('=');
      const std::string key = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      Option& o = find(key);
      given_.push_back(key);
      if (o.is_switch) {
        if (eq != std::string::npos) throw UsageError(cat(name_, ": --", key, " takes no value"));
        o.value.assign(1, '1');  // not = "1": g++ 12 -Wrestrict false positive, as above
      } else if (eq != std::string::npos) {
        o.value = a.substr(eq + 1);
      } else {
        if (i + 1 >= args.size()) throw UsageError(cat(name_, ": --", key, " needs a value"));
        o.value = args[++i];
      }
    }
    return true;
  }

  const std::string& str(const std::string& key) const { return get(key).value; }
  // True when the flag was on the command line (so a config file must not override it).
  bool given(const std::string& key) const {
    for (const std::string& k : given_)
      if (k == key) return true;
    return false;
  }
  bool has(const std::string& key) const {
    for (const Option& o : options_)
      if (o.name == key) return true;
    return false;
  }
  // Sets a flag's value as if given (for config files); unknown keys are a usage error.
  void set(const std::string& key, const std::string& value) {
    Option& o = find(key);
    o.value = o.is_switch ? std::string(value == "true" || value == "1" ? "1" : "0") : value;
  }
  // The option as a real number in [lo, hi].
  double real(const std::string& key, double lo, double hi) const {
    const std::string& s = get(key).value;
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
      throw UsageError(cat(name_, ": --", key, " expects a number, got '", s, "'"));
    if (v < lo || v > hi) throw UsageError(cat(name_, ": --", key, " must be in [", lo, ", ", hi, "], got ", s));
    return v;
  }
  bool flag(const std::string& key) const { return get(key).value == "1"; }

  // The option as a whole number in [lo, hi].
  int64_t integer(const std::string& key, int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const {
    const std::string& s = get(key).value;
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
      throw UsageError(cat(name_, ": --", key, " expects a whole number, got '", s, "'"));
    if (v < lo || v > hi)
      throw UsageError(cat(name_, ": --", key, " must be in [", lo, ", ", hi, "], got ", s));
    return v;
  }

  // The option as a finite real number > lo (strictly, so "--lr 0" can be rejected).
  double number_above(const std::string& key, double lo) const {
    const std::string& s = get(key).value;
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
      throw UsageError(cat(name_, ": --", key, " expects a number, got '", s, "'"));
    if (!(v > lo)) throw UsageError(cat(name_, ": --", key, " must be > ", lo, ", got ", s));
    return v;
  }

  // "  difft demo [flags]: summary" then one line per flag with its default.
  void print_help(std::ostream& os) const {
    os << "difft " << name_ << (options_.empty() ? "" : " [flags]") << "\n  " << summary_ << "\n";
    for (const Option& o : options_) {
      const std::string lhs = cat("--", o.name, o.is_switch ? "" : placeholder(o));
      os << "    " << std::left << std::setw(20) << lhs << " " << o.help;
      if (o.is_switch) os << " (off by default)\n";
      else os << " (default: " << o.value << ")\n";
    }
  }

 private:
  Option& find(const std::string& key) {
    for (Option& o : options_)
      if (o.name == key) return o;
    throw UsageError(cat(name_, ": unknown flag '--", key, "'"));
  }
  const Option& get(const std::string& key) const {
    for (const Option& o : options_)
      if (o.name == key) return o;
    throw std::logic_error(cat("difft ", name_, ": no option --", key));  // a programming error
  }
  static std::string placeholder(const Option& o) {
    const bool real = o.value.find_first_of(".eE") != std::string::npos;
    return real ? " X" : " N";
  }

  std::string name_, summary_;
  std::vector<Option> options_;
  std::vector<std::string> given_;
};

}  // namespace difft::cli
