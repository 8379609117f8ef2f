// dispatch.h: the seam between op definitions and device kernels.
//
// An op (core/ops/*.cpp) checks its arguments, allocates the output on the input's device, calls
// `kernels(device).<kernel>(...)` and records its backward. A backend fills one Kernels table with
// function pointers, once, in its register function (core/cpu/register.cpp, core/cuda/register.cu).
// Adding the CUDA backend therefore adds kernels to a table; it edits no op and not the autograd
// engine. A kernel left empty throws "<op>: no cuda:0 kernel for '<kernel>'" when called.
//
// Kernel conventions (all backends):
//  - `out` arguments are preallocated by the op, contiguous, of the documented shape;
//  - input tensors may be strided (views) unless a kernel says "contiguous";
//  - kernels never allocate autograd state, never throw for valid input, and are dtype-generic
//    over the floating dtypes the backend supports.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/shape.h"

namespace difft {

class Tensor;

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Tanh, Sigmoid, Silu, Relu, Gelu,
  PowScalar,    // x^alpha
  AddScalar,    // x + alpha
  MulScalar,    // x * alpha
  RDivScalar,   // alpha / x
};

enum class BinaryOp { Add, Sub, Mul, Div, Maximum, Minimum, Eq, Gt, Lt };

enum class ReduceOp { Sum, Max, Min };

struct Kernels {
  // memory
  void* (*alloc)(size_t nbytes) = nullptr;
  void (*free)(void* p) = nullptr;
  // dst <- src elementwise, same shape; both may be strided; dtypes may differ (converted);
  // devices may differ when one side is the CPU (host<->device transfer).
  void (*copy)(const Tensor& src, const Tensor& dst) = nullptr;
  void (*fill)(const Tensor& dst, double value) = nullptr;  // dst may be strided

  // elementwise. x, y, gy: same shape as out, may be strided. out/gx: contiguous.
  void (*unary)(UnaryOp op, double alpha, const Tensor& x, const Tensor& out) = nullptr;
  // gx = gy * d op(x)/dx; y = op(x) is passed so that exp/tanh/sigmoid/... can reuse it.
  void (*unary_backward)(UnaryOp op, double alpha, const Tensor& x, const Tensor& y,
                         const Tensor& gy, const Tensor& gx) = nullptr;
  // a, b already broadcast (expanded) to out's shape. Comparisons write 1 or 0.
  void (*binary)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // out = cond != 0 ? a : b, all three expanded to out's shape.
  void (*where)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;

  // reduction of x over the dims where out (same rank, keepdim) has size 1 and x does not.
  void (*reduce)(ReduceOp op, const Tensor& x, const Tensor& out) = nullptr;

  // out (..., M, N) = a (..., M, K) @ b (..., K, N). a and b are already broadcast to out's batch
  // dims (batch strides may be 0); each matrix has a unit stride in one of its last two dims, which
  // the kernel passes to BLAS as a transpose flag instead of copying.
  void (*matmul)(const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;

  // Row-wise over the last dim of contiguous (N, C) tensors.
  void (*softmax_forward)(const Tensor& x, const Tensor& y, bool log) = nullptr;
  void (*softmax_backward)(const Tensor& y, const Tensor& gy, const Tensor& gx, bool log) = nullptr;

  // logits (N, V) contiguous, targets (N) int64. loss (N): -log p[target] (0 where ignored);
  // lse (N): logsumexp per row, saved for backward.
  void (*cross_entropy_forward)(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                const Tensor& loss, const Tensor& lse) = nullptr;
  // glogits[n] = gloss[n] * (softmax(logits[n]) - onehot(target[n])), 0 for ignored rows.
  void (*cross_entropy_backward)(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                 const Tensor& lse, const Tensor& gloss,
                                 const Tensor& glogits) = nullptr;

  // weight (V, C) contiguous, idx (N) int64 contiguous, out (N, C).
  void (*embedding_forward)(const Tensor& weight, const Tensor& idx, const Tensor& out) = nullptr;
  // gweight (V, C) += scatter of gout (N, C) rows at idx; deterministic.
  void (*embedding_backward)(const Tensor& idx, const Tensor& gout, const Tensor& gweight) = nullptr;

  // x (N, C) contiguous, w (C): y = x * rsqrt(mean(x^2) + eps) * w; rstd (N) saved for backward.
  void (*rmsnorm_forward)(const Tensor& x, const Tensor& w, double eps, const Tensor& y,
                          const Tensor& rstd) = nullptr;
  void (*rmsnorm_backward)(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& gy,
                           const Tensor& gx, const Tensor& gw) = nullptr;

  // x (B, T, H, D) contiguous, D even. Rotates interleaved pairs (x[2m], x[2m+1]) of position
  // t = pos_offset + time index by angle t * theta^(-2m/D), or by -angle when `inverse`
  // (the backward of a rotation is the inverse rotation).
  void (*rope)(const Tensor& x, const Tensor& out, int64_t pos_offset, double theta,
               bool inverse) = nullptr;

  // Fused attention (core/ops/attention.cpp has the math). All inputs contiguous, layouts
  // q (B, T, Hq, D), k (B, S, Hkv, D), v (B, S, Hkv, Dv), out (B, T, Hq, Dv), lse (B, Hq, T).
  void (*attention_forward)(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                            const Tensor& out, const Tensor& lse) = nullptr;
  // gq, gk, gv are written (not accumulated), shapes of q, k, v.
  void (*attention_backward)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                             const Tensor& lse, const Tensor& gout, double scale, bool causal,
                             const Tensor& gq, const Tensor& gk, const Tensor& gv) = nullptr;
  // DIFF: q (B, T, 2H, d), k (B, S, 2Hkv, d), v (B, S, Hkv, 2d); out, o2 (B, T, H, 2d) where
  // out = o1 - lambda*o2; lse (B, 2H, T): row 2i for map 1 of head i, 2i+1 for map 2.
  void (*diff_attention_forward)(const Tensor& q, const Tensor& k, const Tensor& v, double lambda, double scale,
                                 bool causal, const Tensor& out, const Tensor& o2, const Tensor& lse) = nullptr;
  // Gradients of q, k, v (written); the op computes dlambda = -sum(gout * o2) itself.
  void (*diff_attention_backward)(const Tensor& q, const Tensor& k, const Tensor& v, double lambda,
                                  const Tensor& out, const Tensor& o2, const Tensor& lse, const Tensor& gout,
                                  double scale, bool causal, const Tensor& gq, const Tensor& gk,
                                  const Tensor& gv) = nullptr;

  // AdamW on contiguous same-shape p, g, m, v (optim/optim.h has the formula); updates p, m, v in place.
  void (*adamw_update)(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1,
                       double beta2, double eps, double weight_decay, double bias_correction1,
                       double bias_correction2) = nullptr;
};

// The table of a device type. Throws if that backend is not compiled in.
const Kernels& kernels(DeviceType device);
inline const Kernels& kernels(Device device) { return kernels(device.type); }

// Used by backends' register functions.
Kernels& mutable_kernels(DeviceType device);

// Looks up a kernel pointer and throws "<op>: no <device> kernel for <name>" when it is empty.
template <class Fn>
Fn* kernel_or_throw(Fn* fn, const char* op, const char* name, Device device);
#define DIFFT_KERNEL(device, name, op) \
  (*::difft::kernel_or_throw(::difft::kernels(device).name, op, #name, device))

}  // namespace difft

#include "core/error.h"
template <class Fn>
Fn* difft::kernel_or_throw(Fn* fn, const char* op, const char* name, Device device) {
  DIFFT_CHECK(fn != nullptr, op, ": no ", device.str(), " kernel for '", name,
              "' (this backend does not implement it yet)");
  return fn;
}
