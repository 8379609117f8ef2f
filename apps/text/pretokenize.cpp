// pretokenize.cpp: see pretokenize.h.
#include "apps/text/pretokenize.h"

namespace difft::text::detail {

size_t contraction_length(std::string_view text, size_t i) {
  const std::string_view rest = text.substr(i + 1);
  for (std::string_view c : {"re", "ve", "ll"})
    if (rest.starts_with(c)) return 3;
  if (!rest.empty() && (rest[0] == 's' || rest[0] == 't' || rest[0] == 'm' || rest[0] == 'd')) return 2;
  return 0;
}

}  // namespace difft::text::detail
