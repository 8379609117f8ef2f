// error.h: the one exception type difft throws, and the check macro that builds its messages.
//
// Every message names the op and the shapes involved, e.g.
//   "matmul: inner dimensions differ: a (2, 3) @ b (4, 5): 3 != 4"
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace difft {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Args>
std::string cat_message(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// DIFFT_CHECK(cond, "op", ": message parts ", shape_str(s), ...) throws difft::Error when !cond.
#define DIFFT_CHECK(cond, ...)                                              \
  do {                                                                      \
    if (!(cond)) throw ::difft::Error(::difft::detail::cat_message(__VA_ARGS__)); \
  } while (0)

}  // namespace difft
