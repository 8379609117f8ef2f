// text_io.cpp: see text_io.h.
#include "apps/text/text_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace difft::text {

std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = digits[v & 15];
  return s;
}

std::string read_file_bytes(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  DIFFT_CHECK(fs::exists(path, ec), what, " '", path, "' does not exist (check the path)");
  DIFFT_CHECK(!fs::is_directory(path, ec), what, " '", path, "' is a folder, not a file (give the path of a file)");
  std::ifstream f(path, std::ios::binary);
  DIFFT_CHECK(f.good(), what, " '", path, "' cannot be opened: ", std::strerror(errno), " (check its permissions)");
  std::ostringstream os;
  os << f.rdbuf();
  DIFFT_CHECK(!f.bad(), what, " '", path, "' could not be read completely: ", std::strerror(errno));
  return os.str();
}

std::string read_text_file(const std::string& path) {
  std::string bytes = read_file_bytes(path, "text file");
  DIFFT_CHECK(!bytes.empty(), "text file '", path, "' is empty (give a file with some text to train on)");
  return bytes;
}

}  // namespace difft::text
