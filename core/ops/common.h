// common.h: argument checks shared by the op definitions.
#pragma once
#include "core/error.h"
#include "core/tensor.h"

namespace difft {

// a and b must be defined, of one dtype and on one device.
inline void check_same(const char* op, const Tensor& a, const Tensor& b) {
  DIFFT_CHECK(a.defined() && b.defined(), op, ": undefined tensor argument");
  DIFFT_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", dtype_name(a.dtype()), " ", shape_str(a.shape()),
              " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()), " (convert one with .to(dtype))");
  DIFFT_CHECK(a.device() == b.device(), op, ": device mismatch: ", a.device().str(), " ", shape_str(a.shape()),
              " vs ", b.device().str(), " ", shape_str(b.shape()));
}

inline void check_floating(const char* op, const Tensor& x) {
  DIFFT_CHECK(x.defined(), op, ": undefined tensor argument");
  DIFFT_CHECK(is_floating(x.dtype()), op, ": needs a floating tensor, got ", dtype_name(x.dtype()), " ", shape_str(x.shape()));
}

}  // namespace difft
