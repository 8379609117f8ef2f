// dtype.h: element types and devices.
//
// float32 is the training type, float64 exists so gradient checks can be tight (1e-7 instead of
// 1e-2), int64 holds token ids and targets. bfloat16 is reserved for the CUDA backend: the CPU
// kernels reject it with a clear error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace difft {

enum class DType : uint8_t { Float32, Float64, Int64, BFloat16 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
inline bool is_floating(DType t) { return t != DType::Int64; }

// The C++ type stored for a dtype (bfloat16 has none on the CPU).
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool operator==(const Device&) const = default;
  std::string str() const;  // "cpu", "cuda:0"
};

}  // namespace difft
