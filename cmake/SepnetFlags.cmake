# Compiler flags. The shipped build targets baseline x86-64; SIMD lives only in per-ISA
# translation units named *_avx2.cpp / *_avx512.cpp, which get their own -m flags and are
# only called after a CPUID check (kernels/isa.cpp).
add_library(sepnet_options INTERFACE)
target_compile_options(sepnet_options INTERFACE -Wall -Wextra -Wshadow -Wno-unused-parameter
  $<$<CONFIG:Release>:-O3> -fno-math-errno)
if(SEPNET_WERROR)
  target_compile_options(sepnet_options INTERFACE -Werror)
endif()
if(SEPNET_NATIVE)
  target_compile_options(sepnet_options INTERFACE -march=native)
endif()
if(SEPNET_SANITIZE)
  # -O1 (after the build type's -O3, so it wins) and no -g: the sanitizer build of the
  # template-heavy per-ISA GEMM files is several times cheaper to compile, and ASan reports
  # still name functions.
  target_compile_options(sepnet_options INTERFACE -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sepnet_options INTERFACE -fsanitize=address,undefined)
endif()

set(SEPNET_AVX2_FLAGS -mavx2 -mfma -mf16c)
set(SEPNET_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c)

function(sepnet_set_isa_flags)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SEPNET_AVX512_FLAGS}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SEPNET_AVX2_FLAGS}")
    endif()
  endforeach()
endfunction()
