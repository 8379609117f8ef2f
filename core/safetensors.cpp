#include "core/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <tuple>
#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/error.h"

namespace difft {

using json = nlohmann::json;
static constexpr uint64_t kMaxHeader = 100u << 20;  // as the reference implementation's limit

static const char* st_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::BFloat16: return "BF16";
  }
  return "?";
}

static bool parse_dtype(const std::string& s, DType& t) {
  if (s == "F32") t = DType::Float32;
  else if (s == "F64") t = DType::Float64;
  else if (s == "I64") t = DType::Int64;
  else if (s == "BF16") t = DType::BFloat16;
  else return false;
  return true;
}

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DIFFT_CHECK(fd >= 0, "save: cannot create ", tmp, ": ", std::strerror(errno), " (is the folder writable?)");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("save: writing " + tmp + " failed: " + std::strerror(err));
    }
    done += size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) {
    ::unlink(tmp.c_str());
    throw Error("save: fsync of " + tmp + " failed: " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw Error("save: renaming " + tmp + " to " + path + " failed: " + std::strerror(e));
  }
  // Make the rename itself durable.
  const std::string dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path().string() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void save_safetensors(const std::string& path, const NamedTensorList& tensors, const Metadata& metadata) {
  NoGradGuard no_grad;
  json header = json::object();
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    DIFFT_CHECK(name != "__metadata__" && !name.empty(), "save_safetensors: invalid tensor name '", name, "'");
    DIFFT_CHECK(!header.contains(name), "save_safetensors: duplicate tensor name '", name, "'");
    Tensor c = t.to(Device::cpu()).contiguous();
    const uint64_t nbytes = uint64_t(c.numel()) * dtype_size(c.dtype());
    header[name] = {{"dtype", st_dtype(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    host.push_back(c);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  std::string bytes(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((n >> (8 * i)) & 0xff);
  bytes += h;
  bytes.reserve(bytes.size() + offset);
  for (const Tensor& c : host) bytes.append(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * dtype_size(c.dtype()));
  write_file_atomic(path, bytes);
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DIFFT_CHECK(f.good(), "load_safetensors: cannot open '", path, "'");
  f.seekg(0, std::ios::end);
  const std::streamoff end = f.tellg();
  std::error_code ec;  // a folder opens as a stream on Linux; its "size" is meaningless
  DIFFT_CHECK(f.good() && end >= 0 && !std::filesystem::is_directory(path, ec), "load_safetensors: cannot read '", path, "'");
  const uint64_t size = uint64_t(end);
  f.seekg(0);
  auto bad = [&](const std::string& why) { return Error("load_safetensors: '" + path + "' is not a valid safetensors file: " + why); };
  if (size < 8) throw bad("shorter than the 8-byte header length (" + std::to_string(size) + " bytes)");
  unsigned char len_bytes[8];
  f.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len_bytes[i]) << (8 * i);
  if (n > size - 8) throw bad("header length " + std::to_string(n) + " is beyond the end of the file (" + std::to_string(size) + " bytes; truncated?)");
  if (n > kMaxHeader) throw bad("header length " + std::to_string(n) + " exceeds the 100 MB limit");
  std::string htext(n, '\0');
  f.read(htext.data(), std::streamsize(n));
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore whatever follows it.
  if (htext.find('\0') != std::string::npos) throw bad("malformed JSON header: NUL byte at " + std::to_string(htext.find('\0')));
  json header;
  try {
    header = json::parse(htext);
  } catch (const json::exception& e) {
    throw bad(std::string("malformed JSON header: ") + e.what());
  }
  if (!header.is_object()) throw bad("the header is not a JSON object");
  const uint64_t data_size = size - 8 - n;

  SafetensorsFile out;
  struct Entry { std::string name; DType dtype; Shape shape; uint64_t begin, end; };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw bad("__metadata__ value of '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("entry '" + name + "' lacks dtype, shape or data_offsets");
    Entry e{name, DType::Float32, {}, 0, 0};
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), e.dtype))
      throw bad("entry '" + name + "' has unsupported dtype " + v["dtype"].dump());
    if (!v["shape"].is_array()) throw bad("entry '" + name + "' shape is not an array");
    // The product of the non-zero dims must fit (with room for the element size) even when a zero
    // dim makes the tensor empty: shape code elsewhere multiplies partial shapes in int64.
    uint64_t numel = 1, nonzero = 1;
    for (const json& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("entry '" + name + "' has a shape entry that is not a non-negative integer: " + d.dump());
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && nonzero > std::numeric_limits<uint64_t>::max() / 16 / dim)
        throw bad("entry '" + name + "' shape " + v["shape"].dump() + " overflows");
      nonzero *= dim != 0 ? dim : 1;
      numel *= dim;
      e.shape.push_back(int64_t(dim));
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("entry '" + name + "' data_offsets must be two non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end)
      throw bad("entry '" + name + "' offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ") are reversed");
    if (e.end > data_size)
      throw bad("entry '" + name + "' offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ") are outside the " +
                std::to_string(data_size) + "-byte data section");
    if (e.end - e.begin != numel * dtype_size(e.dtype))
      throw bad("entry '" + name + "' holds " + std::to_string(e.end - e.begin) + " bytes but " + dtype_name(e.dtype) + " " +
                shape_str(e.shape) + " needs " + std::to_string(numel * dtype_size(e.dtype)));
    entries.push_back(std::move(e));
  }
  // Ordered by (begin, end, name) so that an empty entry sharing its begin with the next one
  // (as the writer produces) sorts first; empty entries occupy no bytes and cannot overlap.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (prev && e.begin < prev->end) throw bad("entries '" + prev->name + "' and '" + e.name + "' overlap");
    prev = &e;
  }
  for (const Entry& e : entries) {
    if (e.dtype == DType::BFloat16) throw bad("entry '" + e.name + "' is bfloat16, which the cpu backend cannot hold");
    Tensor t = empty(e.shape, {e.dtype});
    f.seekg(std::streamoff(8 + n + e.begin));
    f.read(static_cast<char*>(t.raw_data()), std::streamsize(e.end - e.begin));
    if (!f) throw bad("could not read the data of '" + e.name + "'");
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace difft
