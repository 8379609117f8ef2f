// safetensors.h: reading and writing the safetensors format (the Hugging Face / PyTorch format).
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [raw little-endian tensor data]
//   header = {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "value", ...}}      offsets relative to the data section
//
// Writes are atomic: the bytes go to "<path>.tmp-<pid>", are flushed and fsync'ed, then renamed
// over <path>, so a crash mid-save leaves the previous file intact. Reads validate everything
// before allocating: header length within the file (and at most 100 MB), well-formed JSON, known
// dtypes, non-negative shapes whose byte size matches the offsets, offsets inside the data section
// and not overlapping. Any violation throws difft::Error naming the file and the problem.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace difft {

using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensorList tensors;  // in file order of their data offsets; CPU, contiguous
  Metadata metadata;
  const Tensor* find(const std::string& name) const;
};

void save_safetensors(const std::string& path, const NamedTensorList& tensors, const Metadata& metadata = {});
SafetensorsFile load_safetensors(const std::string& path);

// Writes bytes to path atomically (temporary file, flush, fsync, rename). Throws difft::Error
// with the OS reason if the folder is not writable.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace difft
