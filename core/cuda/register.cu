// register.cu: the CUDA backend's kernel table. For now only memory, copy and fill: enough to move
// tensors between the host and the GPU. Every other slot stays empty, so e.g. add on a cuda tensor
// throws "add: no cuda:0 kernel for 'binary'" from DIFFT_KERNEL (core/dispatch.h), and a later
// change adds CUDA kernels here without touching any op or the autograd engine.
//
// Copies move bytes with cudaMemcpy whenever both sides are contiguous and of one dtype. Otherwise
// strides and dtype conversion are handled on the GPU by one strided elementwise kernel; a strided
// host tensor is staged through a contiguous host temporary (the CPU backend's copy kernel), since
// cudaMemcpy only moves contiguous bytes.
//
// Limitations: all work runs on the default stream of the current device (device 0): alloc has no
// device argument, so copy/fill refuse tensors on cuda:1 and above rather than touch the wrong GPU.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <type_traits>

#include "core/cuda/cuda_utils.h"
#include "core/dispatch.h"
#include "core/tensor.h"

namespace difft {
namespace cuda {
namespace {

// ---- device discovery ------------------------------------------------------------------------

// The device count and the runtime's reason when there is none, probed once: cudaGetDeviceCount
// fails (instead of answering 0) when no driver is installed, and that reason goes into messages.
struct Probe {
  int count = 0;
  cudaError_t error = cudaSuccess;
};
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    r.error = cudaGetDeviceCount(&r.count);
    if (r.error != cudaSuccess) {
      r.count = 0;
      (void)cudaGetLastError();
    }
    return r;
  }();
  return p;
}

// ---- memory ------------------------------------------------------------------------------------

void* cuda_alloc(size_t nbytes) {
  const Probe& p = probe();
  DIFFT_CHECK(p.count > 0, "allocate: cannot allocate ", nbytes,
              " bytes on cuda: no CUDA device is available (cudaGetDeviceCount: ",
              p.error == cudaSuccess ? "0 devices" : cudaGetErrorString(p.error), ")");
  if (nbytes == 0) return nullptr;
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, nbytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(detail::cat_message("allocate: cudaMalloc of ", nbytes, " bytes on cuda failed: ",
                                    cudaGetErrorString(err)));
  }
  return ptr;
}

// Called from Storage's destructor, so it must not throw. At process exit the runtime may already
// be unloaded when static tensors die; that is not worth a message.
void cuda_free(void* ptr) {
  const cudaError_t err = cudaFree(ptr);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    if (err != cudaErrorCudartUnloading) std::fprintf(stderr, "difft: cudaFree failed: %s\n", cudaGetErrorString(err));
  }
}

// ---- strided elementwise machinery ----------------------------------------------------------

constexpr int kMaxDims = 16;
constexpr int kThreads = 256;

// Shape and the strides of N operands (in elements), passed to kernels by value.
template <int N>
struct Layout {
  int ndim = 0;
  int64_t size[kMaxDims];
  int64_t stride[N][kMaxDims];
};

// Drops size-1 dims and merges neighbours that every operand walks contiguously, so a contiguous
// copy becomes one dim and the per-element index arithmetic stays short.
template <int N>
Layout<N> make_layout(const Shape& shape, const std::array<const Tensor*, N>& ts, const char* op) {
  Layout<N> l;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (l.ndim > 0) {
      bool merge = true;
      for (int k = 0; k < N; ++k) merge = merge && l.stride[k][l.ndim - 1] == ts[k]->strides()[d] * shape[d];
      if (merge) {
        l.size[l.ndim - 1] *= shape[d];
        for (int k = 0; k < N; ++k) l.stride[k][l.ndim - 1] = ts[k]->strides()[d];
        continue;
      }
    }
    DIFFT_CHECK(l.ndim < kMaxDims, op, ": the cuda backend handles at most ", kMaxDims,
                " non-mergeable dims, got shape ", shape_str(shape));
    l.size[l.ndim] = shape[d];
    for (int k = 0; k < N; ++k) l.stride[k][l.ndim] = ts[k]->strides()[d];
    ++l.ndim;
  }
  return l;
}

// Element offsets of the i-th element (row-major order) in each operand.
template <int N>
__device__ void offsets_of(const Layout<N>& l, int64_t i, int64_t (&off)[N]) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % l.size[d];
    i /= l.size[d];
    for (int k = 0; k < N; ++k) off[k] += idx * l.stride[k][d];
  }
}

unsigned blocks_for(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20)); }

// Conversion between stored types; bfloat16 goes through float (or from double, rounded once).
template <class TD, class TS>
__host__ __device__ TD convert(TS v) {
  if constexpr (std::is_same_v<TD, TS>) {
    return v;
  } else if constexpr (std::is_same_v<TS, __nv_bfloat16>) {
    return static_cast<TD>(__bfloat162float(v));
  } else if constexpr (std::is_same_v<TD, __nv_bfloat16>) {
    return __double2bfloat16(static_cast<double>(v));
  } else {
    return static_cast<TD>(v);
  }
}

template <class F>
void dispatch_cuda(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::BFloat16: return f(__nv_bfloat16{});
  }
}

template <class T>
__global__ void fill_kernel(T* dst, T value, Layout<1> l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    offsets_of(l, i, off);
    dst[off[0]] = value;
  }
}

template <class TD, class TS>
__global__ void copy_kernel(TD* dst, const TS* src, Layout<2> l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    offsets_of(l, i, off);
    dst[off[0]] = convert<TD>(src[off[1]]);
  }
}

// ---- copy and fill -----------------------------------------------------------------------------

void check_device_index(const Tensor& t, const char* op) {
  DIFFT_CHECK(t.device().is_cpu() || t.device().index == 0, op,
              ": the cuda backend supports only cuda:0 for now, got ", t.device().str());
}

size_t nbytes_of(const Tensor& t) { return size_t(t.numel()) * dtype_size(t.dtype()); }

// Both on the GPU: any strides, any dtypes.
void device_copy(const Tensor& src, const Tensor& dst) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    DIFFT_CUDA_CHECK(cudaMemcpy(dst.raw_data(), src.raw_data(), nbytes_of(src), cudaMemcpyDeviceToDevice));
    return;
  }
  const Layout<2> l = make_layout<2>(dst.shape(), {&dst, &src}, "copy");
  const int64_t n = dst.numel();
  dispatch_cuda(dst.dtype(), [&](auto td) {
    using TD = decltype(td);
    dispatch_cuda(src.dtype(), [&](auto ts) {
      using TS = decltype(ts);
      copy_kernel<TD, TS><<<blocks_for(n), kThreads>>>(static_cast<TD*>(dst.raw_data()),
                                                        static_cast<const TS*>(src.raw_data()), l, n);
      DIFFT_CUDA_CHECK_LAUNCH();
    });
  });
}

Tensor host_contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor h = empty(t.shape(), {t.dtype(), Device::cpu()});
  kernels(DeviceType::CPU).copy(t, h);
  return h;
}

// Host src -> device dst: bytes move in src's dtype; conversion and dst strides happen on the GPU.
void copy_to_device(const Tensor& src, const Tensor& dst) {
  const Tensor h = host_contiguous(src);
  if (dst.is_contiguous() && dst.dtype() == src.dtype()) {
    DIFFT_CUDA_CHECK(cudaMemcpy(dst.raw_data(), h.raw_data(), nbytes_of(h), cudaMemcpyHostToDevice));
    return;
  }
  const Tensor d = empty(src.shape(), {src.dtype(), dst.device()});
  DIFFT_CUDA_CHECK(cudaMemcpy(d.raw_data(), h.raw_data(), nbytes_of(h), cudaMemcpyHostToDevice));
  device_copy(d, dst);
}

// Device src -> host dst: conversion and src strides happen on the GPU, bytes move in dst's dtype.
void copy_to_host(const Tensor& src, const Tensor& dst) {
  Tensor d = src;
  if (!src.is_contiguous() || src.dtype() != dst.dtype()) {
    d = empty(src.shape(), {dst.dtype(), src.device()});
    device_copy(src, d);
  }
  if (dst.is_contiguous()) {
    DIFFT_CUDA_CHECK(cudaMemcpy(dst.raw_data(), d.raw_data(), nbytes_of(d), cudaMemcpyDeviceToHost));
    return;
  }
  const Tensor h = empty(src.shape(), {dst.dtype(), Device::cpu()});
  DIFFT_CUDA_CHECK(cudaMemcpy(h.raw_data(), d.raw_data(), nbytes_of(d), cudaMemcpyDeviceToHost));
  kernels(DeviceType::CPU).copy(h, dst);
}

void cuda_copy(const Tensor& src, const Tensor& dst) {
  DIFFT_CHECK(src.shape() == dst.shape(), "copy: shape ", shape_str(src.shape()), " into ", shape_str(dst.shape()));
  check_device_index(src, "copy");
  check_device_index(dst, "copy");
  if (src.device().is_cpu() && dst.device().is_cpu()) return kernels(DeviceType::CPU).copy(src, dst);
  if (src.numel() == 0) return;
  if (src.device().is_cpu()) return copy_to_device(src, dst);
  if (dst.device().is_cpu()) return copy_to_host(src, dst);
  device_copy(src, dst);
}

void cuda_fill(const Tensor& dst, double value) {
  check_device_index(dst, "fill");
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Layout<1> l = make_layout<1>(dst.shape(), {&dst}, "fill");
  dispatch_cuda(dst.dtype(), [&](auto t) {
    using T = decltype(t);
    fill_kernel<T><<<blocks_for(n), kThreads>>>(static_cast<T*>(dst.raw_data()), convert<T>(value), l, n);
    DIFFT_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

int runtime_device_count() { return probe().count; }  // declared in core/device.cpp

}  // namespace cuda

void register_cuda_kernels(Kernels& k) {
  k.alloc = cuda::cuda_alloc;
  k.free = cuda::cuda_free;
  k.copy = cuda::cuda_copy;
  k.fill = cuda::cuda_fill;
}

}  // namespace difft
