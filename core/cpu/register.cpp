#include "core/cpu/register.h"

namespace difft {

void register_cpu_kernels(Kernels& k) {
  cpu::register_elementwise(k);
  cpu::register_reduce(k);
  cpu::register_matmul(k);
  cpu::register_attention(k);
}

}  // namespace difft
