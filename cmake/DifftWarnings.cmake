# Warnings, sanitizers and CPU tuning shared by every difft target.
function(difft_set_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic>)
  # nvcc: warnings for the host half of .cu files. Not -Wpedantic: nvcc's generated host code uses
  # GCC-style line markers, which it flags on every line. -march/-fsanitize stay CXX-only.
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  if(DIFFT_NATIVE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
  if(DIFFT_SANITIZE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${DIFFT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
    target_link_options(${target} PRIVATE -fsanitize=${DIFFT_SANITIZE})
  endif()
endfunction()
