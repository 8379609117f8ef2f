#include "core/cpu/register.h"

namespace difft {

void register_cpu_kernels(Kernels& k) {
  cpu::register_elementwise(k);
  cpu::register_reduce(k);
  cpu::register_matmul(k);
  cpu::register_optim(k);
  cpu::register_embedding(k);
  cpu::register_rmsnorm(k);
  cpu::register_rope(k);
  cpu::register_softmax(k);
  cpu::register_attention(k);
}

}  // namespace difft
