#include <iostream>
#include "core/ops.h"
int main() { difft::Tensor a = difft::tensor({1, 2, 3}); std::cout << (a * a) << "\n"; }
