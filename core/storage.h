// storage.h: a reference-counted block of device memory.
//
// Tensors are views (shape, strides, offset) onto a Storage; several tensors may share one.
// The version counter lives here, so every view of the same memory sees an in-place change:
// autograd records the version when it saves a tensor and refuses to run a backward if it moved.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/dtype.h"

namespace difft {

class Storage {
 public:
  // Allocates nbytes on device through that device's backend (64-byte aligned on the CPU).
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
};

}  // namespace difft
