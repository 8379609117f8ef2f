// shape.h: shapes, strides and the broadcasting rule.
//
// Shapes and strides are counted in elements, row-major. Broadcasting follows NumPy/PyTorch:
// align trailing dims; each pair must be equal or one of them 1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace difft {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);  // "(2, 3)", "()" for a scalar

// The broadcast of a and b; throws "<op>: cannot broadcast (2, 3) with (4,)" when they don't fit.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Maps a possibly negative dim into [0, ndim); throws "<op>: dim 3 out of range for 2-d tensor".
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace difft
