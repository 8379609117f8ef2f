// register.h: the CPU backend fills its Kernels table from one function per kernel file.
#pragma once
#include "core/dispatch.h"

namespace difft::cpu {
void register_elementwise(Kernels& k);  // elementwise.cpp: memory, copy, fill, unary, binary, where
void register_reduce(Kernels& k);       // reduce.cpp
void register_matmul(Kernels& k);       // matmul.cpp (OpenBLAS)
void register_softmax(Kernels& k);      // softmax.cpp: softmax, log_softmax, cross-entropy
void register_embedding(Kernels& k);    // embedding.cpp
void register_rmsnorm(Kernels& k);      // rmsnorm.cpp
void register_rope(Kernels& k);         // rope.cpp
void register_optim(Kernels& k);        // optim.cpp: fused AdamW update
void register_attention(Kernels& k);    // attention.cpp: fused standard and DIFF attention
}  // namespace difft::cpu
