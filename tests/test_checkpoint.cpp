// test_checkpoint.cpp: the safetensors reader/writer and optimizer training-state files.
//
// Round trips are checked bitwise (memcmp of the raw bytes: NaN, -0 and denormals included), the
// file layout byte for byte against the format (length prefix, JSON header parsed with nlohmann,
// alignment, offsets), atomic replacement by provoking failures that also stop root (tests run as
// root, so permissions cannot be used), and every malformed-file case by writing the bytes by hand.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "optim/state.h"
#include "tests/helpers.h"

using namespace difft;
using namespace difft::test;
using namespace difft::optim;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A fresh folder per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("difft_test_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return s;
}

// A file with this header text and `data` bytes after it; the length prefix is the header's size
// unless given.
std::string raw_file(const std::string& header, const std::string& data = "") { return le64(header.size()) + header + data; }

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.numel() == 0) return true;  // (an empty tensor's data pointer may be null)
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.raw_data(), bc.raw_data(), size_t(ac.numel()) * dtype_size(ac.dtype())) == 0;
}

std::vector<double> values(uint64_t seed, int64_t n) {
  Generator g(seed);
  return uniform({n}, -1.0, 1.0, g, {DType::Float64}).to_vector<double>();
}

}  // namespace

// ---- round trips -------------------------------------------------------------------------------

TEST_CASE("safetensors: float32/float64/int64, 0-d and empty tensors and metadata round-trip bitwise") {
  TempDir dir;
  const float nan32 = std::numeric_limits<float>::quiet_NaN(), inf32 = std::numeric_limits<float>::infinity();
  const float den32 = std::numeric_limits<float>::denorm_min();
  const NamedTensorList tensors = {
      {"f32", from_vector(std::vector<float>{1.5f, -0.0f, nan32, inf32, -inf32, den32}, {2, 3})},
      {"f64", from_vector(values(1, 5), {5}, {DType::Float64})},
      {"i64", from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()}, {4})},
      {"scalar", scalar_tensor(3.25, {DType::Float64})},
      {"empty", zeros({0, 3}, {DType::Float32})},
      {"empty_i64", zeros({0}, {DType::Int64})},
      {"layer.0.weight", from_vector(values(2, 6), {1, 2, 3}, {DType::Float32})},
  };
  const Metadata md = {{"config", "{\"d_model\": 64}"}, {"empty", ""}, {"unicode", "λ ü"}};
  const std::string path = dir / "t.safetensors";
  save_safetensors(path, tensors, md);
  const SafetensorsFile f = load_safetensors(path);
  CHECK(f.metadata == md);
  REQUIRE(f.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    const Tensor* got = f.find(name);
    REQUIRE(got != nullptr);
    CHECK(got->dtype() == t.dtype());
    CHECK(got->shape() == t.shape());
    CHECK(got->is_contiguous());
    CHECK(same_bytes(*got, t));
  }
  CHECK(f.find("missing") == nullptr);
  CHECK(f.find("scalar")->dim() == 0);
  // in file order, which is the order they were saved in
  for (size_t i = 0; i < tensors.size(); ++i) CHECK(f.tensors[i].first == tensors[i].first);

  // no tensors and no metadata is a valid file too
  save_safetensors(dir / "none.safetensors", {});
  const SafetensorsFile none = load_safetensors(dir / "none.safetensors");
  CHECK(none.tensors.empty());
  CHECK(none.metadata.empty());
}

TEST_CASE("safetensors: an empty tensor saved before a non-empty one at the same offset loads") {
  // The writer gives "z" [0, 0) and "a" [0, 8): equal begins. The header lists "a" first; a reader
  // that orders by begin only (unstable) can report them as overlapping.
  TempDir dir;
  const Tensor a = from_vector(std::vector<float>{1.0f, 2.0f}, {2});
  save_safetensors(dir / "e.safetensors", {{"z", zeros({0}, {DType::Float32})}, {"a", a}, {"m", zeros({2, 0})}});
  const SafetensorsFile f = load_safetensors(dir / "e.safetensors");
  REQUIRE(f.tensors.size() == 3);
  CHECK(same_bytes(*f.find("a"), a));
  CHECK(f.find("z")->numel() == 0);
  CHECK(f.find("m")->shape() == Shape{2, 0});
}

TEST_CASE("safetensors: a non-contiguous tensor is written contiguous with the same values") {
  TempDir dir;
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    const Tensor base = arange(0, 24, 1, {dt}).view({2, 3, 4});
    const Tensor t = base.permute({2, 0, 1}).slice(0, 1, 4, 2);  // (2, 2, 3), strided
    REQUIRE_FALSE(t.is_contiguous());
    save_safetensors(dir / "nc.safetensors", {{"t", t}, {"e", base.expand({2, 2, 3, 4})}});
    const SafetensorsFile f = load_safetensors(dir / "nc.safetensors");
    const Tensor& got = *f.find("t");
    CHECK(got.is_contiguous());
    CHECK(got.shape() == Shape{2, 2, 3});
    CHECK(got.to_vector<double>() == t.to_vector<double>());
    CHECK(got.at({1, 0, 2}) == 0 * 12 + 2 * 4 + 3);  // t[1][0][2] = permuted[3][0][2] = base[0][2][3]
    CHECK(f.find("e")->to_vector<double>() == base.expand({2, 2, 3, 4}).to_vector<double>());
  }
}

// ---- the bytes of the format -----------------------------------------------------------------

TEST_CASE("safetensors: the file is byte-exact what the format says") {
  TempDir dir;
  const std::vector<float> av = {1.0f, -2.5f};
  const std::vector<int64_t> bv = {7, -8, 1LL << 40};
  const std::vector<double> cv = {0.125};
  save_safetensors(dir / "f.safetensors",
                   {{"a", from_vector(av, {2})}, {"b", from_vector(bv, {3, 1}, {DType::Int64})}, {"c", from_vector(cv, {}, {DType::Float64})}},
                   {{"k", "v"}});
  const std::string bytes = read_bytes(dir / "f.safetensors");
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[size_t(i)])) << (8 * i);
  CHECK((8 + n) % 8 == 0);  // the data section starts 8-byte aligned
  REQUIRE(bytes.size() == 8 + n + 8 + 24 + 8);
  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  CHECK(header.find_last_not_of(' ') == header.rfind('}'));  // padded with spaces only
  const json h = json::parse(header);
  REQUIRE(h.is_object());
  CHECK(h.size() == 4);
  CHECK(h["a"] == json::parse(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})"));
  CHECK(h["b"] == json::parse(R"({"dtype": "I64", "shape": [3, 1], "data_offsets": [8, 32]})"));
  CHECK(h["c"] == json::parse(R"({"dtype": "F64", "shape": [], "data_offsets": [32, 40]})"));
  CHECK(h["__metadata__"] == json::parse(R"({"k": "v"})"));
  const char* data = bytes.data() + 8 + n;
  CHECK(std::memcmp(data, av.data(), 8) == 0);  // the host is little-endian, as the format
  CHECK(std::memcmp(data + 8, bv.data(), 24) == 0);
  CHECK(std::memcmp(data + 32, cv.data(), 8) == 0);

  // without metadata there is no __metadata__ entry
  save_safetensors(dir / "g.safetensors", {{"a", from_vector(av, {2})}});
  const std::string g = read_bytes(dir / "g.safetensors");
  CHECK_FALSE(json::parse(g.substr(8, g.size() - 16)).contains("__metadata__"));
}

TEST_CASE("safetensors: invalid names throw before anything is written") {
  TempDir dir;
  const Tensor a = zeros({1});
  CHECK_THROWS_WITH_PART(save_safetensors(dir / "x", {{"a", a}, {"a", a}}), "duplicate tensor name 'a'");
  CHECK_THROWS_WITH_PART(save_safetensors(dir / "x", {{"__metadata__", a}}), "invalid tensor name '__metadata__'");
  CHECK_THROWS_WITH_PART(save_safetensors(dir / "x", {{"", a}}), "invalid tensor name ''");
  CHECK(dir.listing().empty());
}

// ---- atomic writes ---------------------------------------------------------------------------

TEST_CASE("safetensors: saving over a file replaces it; failed saves leave it intact and no temporary") {
  TempDir dir;
  const std::string path = dir / "ckpt.safetensors";
  save_safetensors(path, {{"w", from_vector(values(3, 4), {4}, {DType::Float64})}}, {{"step", "1"}});
  const Tensor second = from_vector(values(4, 6), {2, 3}, {DType::Float64});
  save_safetensors(path, {{"w2", second}}, {{"step", "2"}});
  {
    const SafetensorsFile f = load_safetensors(path);
    REQUIRE(f.tensors.size() == 1);
    CHECK(f.tensors[0].first == "w2");
    CHECK(same_bytes(f.tensors[0].second, second));
    CHECK(f.metadata.at("step") == "2");
  }
  CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});
  const std::string before = read_bytes(path);

  SUBCASE("the temporary file cannot be created") {
    // A folder where the temporary file would go makes open() fail, even for root.
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    fs::create_directory(tmp);
    CHECK_THROWS_WITH_PART(save_safetensors(path, {{"x", zeros({1})}}), "save: cannot create " + tmp);
    CHECK(read_bytes(path) == before);
    CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors", fs::path(tmp).filename().string()});
    CHECK(fs::is_empty(tmp));
  }
  SUBCASE("the target's parent is a regular file or does not exist") {
    CHECK_THROWS_WITH_PART(save_safetensors(path + "/inner.safetensors", {{"x", zeros({1})}}), "save: cannot create");
    CHECK_THROWS_WITH_PART(save_safetensors(dir / "no/such/folder/x.safetensors", {{"x", zeros({1})}}), "is the folder writable?");
    CHECK(read_bytes(path) == before);
    CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});
  }
  SUBCASE("the rename fails: the target is a non-empty folder") {
    const std::string folder = dir / "folder";
    fs::create_directory(folder);
    write_bytes(folder + "/keep", "data");
    CHECK_THROWS_WITH_PART(save_safetensors(folder, {{"x", zeros({1})}}), "save: renaming");
    CHECK(read_bytes(folder + "/keep") == "data");
    CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors", "folder"});  // the temporary is removed
    CHECK(read_bytes(path) == before);
  }
  SUBCASE("an invalid save never touches the file") {
    CHECK_THROWS_WITH_PART(save_safetensors(path, {{"a", zeros({1})}, {"a", zeros({1})}}), "duplicate");
    CHECK(read_bytes(path) == before);
    CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});
  }
}

// ---- malformed files -------------------------------------------------------------------------

TEST_CASE("safetensors: malformed files throw difft::Error with the reason") {
  TempDir dir;
  const std::string p = dir / "bad.safetensors";
  auto expect = [&](const std::string& bytes, const std::string& part) {
    write_bytes(p, bytes);
    CAPTURE(part);
    CHECK_THROWS_WITH_PART(load_safetensors(p), part);
  };
  const std::string f32x2 = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  const std::string eight(8, '\x01');
  // the valid baseline that the cases below break one thing of
  write_bytes(p, raw_file(f32x2, eight));
  REQUIRE(load_safetensors(p).tensors.size() == 1);

  CHECK_THROWS_WITH_PART(load_safetensors(dir / "missing.safetensors"), "cannot open");
  CHECK_THROWS_WITH_PART(load_safetensors(dir.path.string()), "cannot read");  // a folder
  expect("", "shorter than the 8-byte header length (0 bytes)");
  expect(std::string("\x05\0\0\0\0", 5), "shorter than the 8-byte header length (5 bytes)");
  expect(le64(100) + "{}", "header length 100 is beyond the end of the file (10 bytes");
  expect(le64(uint64_t(1) << 63) + "{}", "header length 9223372036854775808 is beyond the end of the file");
  expect(le64(~uint64_t(0)) + "{}", "is beyond the end of the file");
  {  // a 200 MB file (sparse: no disk written) claiming a 150 MB header
    write_bytes(p, le64(150u << 20) + "{}");
    fs::resize_file(p, 200u << 20);
    CHECK_THROWS_WITH_PART(load_safetensors(p), "header length 157286400 exceeds the 100 MB limit");
  }
  expect(raw_file(R"({"a": )"), "malformed JSON header");
  expect(raw_file(std::string("{}") + std::string(6, '\0')), "malformed JSON header: NUL byte at 2");  // padding must be spaces
  expect(raw_file(std::string("{}\0{\"a\": 1}", 11)), "malformed JSON header: NUL byte");
  expect(raw_file(""), "malformed JSON header");
  expect(raw_file("[1, 2]"), "the header is not a JSON object");
  expect(raw_file(R"("text")"), "the header is not a JSON object");
  expect(raw_file(R"({"a": 1})"), "entry 'a' lacks dtype, shape or data_offsets");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2]}})", eight), "entry 'a' lacks dtype, shape or data_offsets");
  expect(raw_file(R"({"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}})", eight), "entry 'a' has unsupported dtype \"Q7\"");
  expect(raw_file(R"({"a": {"dtype": 4, "shape": [2], "data_offsets": [0, 8]}})", eight), "unsupported dtype 4");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", eight),
         "entry 'a' has a shape entry that is not a non-negative integer: -2");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", eight), "not a non-negative integer: 2.0");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", eight), "entry 'a' shape is not an array");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}})", eight),
         "entry 'a' holds 8 bytes but float32 (1,) needs 4");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}})", eight),
         "entry 'a' offsets [0, 12) are outside the 8-byte data section");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})", eight), "outside the 8-byte data section");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}})", eight), "entry 'a' offsets [8, 0) are reversed");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", eight),
         "entry 'a' data_offsets must be two non-negative integers");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", eight), "two non-negative integers");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", std::string(12, '\0')),
         "entries 'a' and 'b' overlap");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                      "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", std::string(16, '\0')),
         "entries 'a' and 'b' overlap");  // b inside a
  expect(raw_file(R"({"__metadata__": {"k": 1}})"), "__metadata__ value of 'k' is not a string");
  expect(raw_file(R"({"__metadata__": {"k": null}})"), "__metadata__ value of 'k' is not a string");
  expect(raw_file(R"({"__metadata__": ["k"]})"), "__metadata__ is not an object");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 2], "data_offsets": [0, 8]}})", eight),
         "entry 'a' shape [4294967296,4294967296,2] overflows");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 8]}})", eight), "overflows");
  // a zero dim does not excuse the others: they would not fit an int64 shape
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [0, 18446744073709551615], "data_offsets": [0, 0]}})"), "overflows");
  expect(raw_file(R"({"a": {"dtype": "F32", "shape": [0, 4294967296, 4294967296], "data_offsets": [0, 0]}})"), "overflows");
  expect(raw_file(R"({"a": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}})", eight), "is bfloat16");
  // every one of these is a difft::Error, never another exception or a crash
  write_bytes(p, le64(3) + "{]}");
  CHECK_THROWS_AS(load_safetensors(p), difft::Error);
}

// ---- training state --------------------------------------------------------------------------

namespace {

struct TinyModel {
  Tensor w, e, b;
  explicit TinyModel(DType dt, uint64_t seed, const Shape& w_shape = {3, 4}) {
    Generator g(seed);
    w = uniform(w_shape, -1, 1, g, {dt, Device::cpu(), true});
    e = uniform({5, 2}, -1, 1, g, {dt, Device::cpu(), true});
    b = uniform({4}, -1, 1, g, {dt, Device::cpu(), true});
  }
  std::vector<std::pair<std::string, Tensor>> named() const { return {{"w", w}, {"emb", e}, {"b", b}}; }
  TinyModel copy() const {
    TinyModel m = *this;
    for (Tensor* p : {&m.w, &m.e, &m.b}) {
      *p = p->detach().clone();
      p->requires_grad_();
    }
    return m;
  }
  // Gradients from a seed, the same on every model with these shapes.
  void set_grads(uint64_t seed) const {
    Generator g(seed);
    for (const Tensor& p : {w, e, b}) p.set_grad(uniform(p.shape(), -1, 1, g, {p.dtype()}));
  }
};

}  // namespace

TEST_CASE("train state: AdamW after 3 steps restores moments and step; the next step is bitwise identical") {
  TempDir dir;
  for (DType dt : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dt));
    const TinyModel m(dt, 1);
    AdamW opt(decay_groups(m.named(), 0.1), {.lr = 3e-3, .beta1 = 0.85, .beta2 = 0.99, .eps = 1e-7});
    for (int s = 0; s < 3; ++s) {
      m.set_grads(100 + s);
      opt.step();
    }
    opt.lr = 1.0 / 3.0;  // a value that needs all 17 digits
    const std::string path = dir / "opt.safetensors";
    save_train_state(path, opt, {{"schedule_step", "3"}, {"data_rng", "42:1234"}});

    const TinyModel r = m.copy();
    AdamW restored(decay_groups(r.named(), 0.1), {.lr = 3e-3, .beta1 = 0.85, .beta2 = 0.99, .eps = 1e-7});
    const Metadata md = load_train_state(path, restored);
    CHECK(md.at("schedule_step") == "3");
    CHECK(md.at("data_rng") == "42:1234");
    CHECK(md.at("optim.kind") == "adamw");
    CHECK(md.at("optim.step") == "3");
    CHECK(std::stod(md.at("optim.lr")) == 1.0 / 3.0);
    CHECK(std::stod(md.at("optim.beta1")) == 0.85);
    CHECK(std::stod(md.at("optim.eps")) == 1e-7);
    CHECK(restored.step_count() == 3);
    const auto a = opt.state_tensors(), b = restored.state_tensors();
    REQUIRE(a.size() == 6);
    REQUIRE(b.size() == 6);
    for (size_t i = 0; i < a.size(); ++i) {
      CAPTURE(a[i].first);
      CHECK(a[i].first == b[i].first);
      CHECK(same_bytes(a[i].second, b[i].second));
      CHECK(max(abs(a[i].second)).item() > 0.0);  // real state, not zeros on both sides
    }
    CHECK(a[0].first == "w.exp_avg");

    restored.lr = opt.lr;
    m.set_grads(200);
    r.set_grads(200);
    opt.step();
    restored.step();
    CHECK(same_bytes(m.w, r.w));
    CHECK(same_bytes(m.e, r.e));
    CHECK(same_bytes(m.b, r.b));

    // a fresh optimizer without the state would have stepped differently
    const TinyModel f = m.copy();
    AdamW fresh(decay_groups(f.named(), 0.1), {.lr = opt.lr, .beta1 = 0.85, .beta2 = 0.99, .eps = 1e-7});
    f.set_grads(300);
    m.set_grads(300);
    fresh.step();
    opt.step();
    CHECK_FALSE(same_bytes(m.w, f.w));
  }
}

TEST_CASE("train state: SGD momentum buffers round-trip") {
  TempDir dir;
  const TinyModel m(DType::Float64, 2);
  SGD opt({ParamGroup{{m.w, m.e, m.b}, {"w", "emb", "b"}, {}, 1.0}}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  m.set_grads(1);
  opt.step();
  m.set_grads(2);
  opt.step();
  save_train_state(dir / "sgd.safetensors", opt);
  const TinyModel r = m.copy();
  SGD restored({ParamGroup{{r.w, r.e, r.b}, {"w", "emb", "b"}, {}, 1.0}}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  const Metadata md = load_train_state(dir / "sgd.safetensors", restored);
  CHECK(md.at("optim.kind") == "sgd");
  CHECK(md.at("optim.nesterov") == "true");
  CHECK(restored.step_count() == 2);
  REQUIRE(restored.state_tensors().size() == 3);
  CHECK(restored.state_tensors()[0].first == "w.momentum_buffer");
  m.set_grads(3);
  r.set_grads(3);
  opt.step();
  restored.step();
  CHECK(same_bytes(m.w, r.w));
  CHECK(same_bytes(m.b, r.b));
}

TEST_CASE("train state: mismatched files are rejected and leave the optimizer untouched") {
  TempDir dir;
  const TinyModel m(DType::Float32, 3);
  AdamW opt(decay_groups(m.named(), 0.1));
  m.set_grads(1);
  opt.step();
  const std::string path = dir / "opt.safetensors";
  save_train_state(path, opt);

  // another optimizer whose state differs, to see that a refused load changes nothing
  const TinyModel other(DType::Float32, 4, {4, 3});
  AdamW target(decay_groups(other.named(), 0.1));
  other.set_grads(2);
  target.step();
  target.step();
  std::vector<Tensor> before;
  for (const auto& [n, t] : target.state_tensors()) before.push_back(t.clone());
  CHECK_THROWS_WITH_PART(load_train_state(path, target),
                         "does not match the optimizer's parameters: wrong shape or dtype [w.exp_avg (file float32 (3, 4), "
                         "optimizer float32 (4, 3)), w.exp_avg_sq (file float32 (3, 4), optimizer float32 (4, 3))];");
  CHECK(target.step_count() == 2);
  const auto after = target.state_tensors();
  for (size_t i = 0; i < after.size(); ++i) CHECK(same_bytes(after[i].second, before[i]));

  // differently named parameters: missing and unexpected, by name
  const TinyModel renamed = m.copy();
  AdamW opt2(decay_groups({{"w", renamed.w}, {"emb", renamed.e}, {"bias", renamed.b}}, 0.1));
  CHECK_THROWS_WITH_PART(load_train_state(path, opt2), "missing [bias.exp_avg, bias.exp_avg_sq]; unexpected [b.exp_avg, b.exp_avg_sq];");

  // another dtype
  const TinyModel m64(DType::Float64, 3);
  AdamW opt64(decay_groups(m64.named(), 0.1));
  CHECK_THROWS_WITH_PART(load_train_state(path, opt64), "w.exp_avg (file float32 (3, 4), optimizer float64 (3, 4))");

  // another kind, both ways
  SGD sgd({ParamGroup{{m.w, m.e, m.b}, {"w", "emb", "b"}, {}, 1.0}}, {.lr = 0.1, .momentum = 0.9});
  save_train_state(dir / "sgd.safetensors", sgd);
  CHECK_THROWS_WITH_PART(load_train_state(dir / "sgd.safetensors", opt), "holds sgd state, but the optimizer is adamw");
  CHECK_THROWS_WITH_PART(load_train_state(path, sgd), "holds adamw state, but the optimizer is sgd");

  // not a training-state file, or a broken one
  save_safetensors(dir / "weights.safetensors", {{"w", m.w}});
  CHECK_THROWS_WITH_PART(load_train_state(dir / "weights.safetensors", opt), "is not a training-state file");
  save_safetensors(dir / "neg.safetensors", opt.state_tensors(), {{"optim.kind", "adamw"}, {"optim.step", "-3"}});
  CHECK_THROWS_WITH_PART(load_train_state(dir / "neg.safetensors", opt), "invalid optim.step '-3'");
  save_safetensors(dir / "txt.safetensors", opt.state_tensors(), {{"optim.kind", "adamw"}, {"optim.step", "3x"}});
  CHECK_THROWS_WITH_PART(load_train_state(dir / "txt.safetensors", opt), "invalid optim.step '3x'");
  CHECK(opt.step_count() == 1);

  // reserved keys cannot be overwritten by the caller
  CHECK_THROWS_WITH_PART(save_train_state(dir / "x.safetensors", opt, {{"optim.step", "9"}}), "reserved prefix 'optim.'");
  CHECK_FALSE(fs::exists(dir / "x.safetensors"));
}
