# libFuzzer harnesses, fuzz/fuzz_<target>.cpp, each with a seed corpus in fuzz/corpus/<target>/
# (docs/fuzzing.md; scripts/fuzz.sh configures, builds and runs them). Included only when
# SEPNET_FUZZ=ON, which needs clang. Like SEPNET_SANITIZE, it builds every sepnet library with
# AddressSanitizer + UndefinedBehaviorSanitizer, and adds libFuzzer's coverage instrumentation.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SEPNET_FUZZ needs clang for libFuzzer: configure with CC=clang-14 CXX=clang++-14 "
                      "(scripts/fuzz.sh does), not ${CMAKE_CXX_COMPILER_ID}")
endif()
set(SEPNET_FUZZ_SMOKE_SECONDS 20 CACHE STRING "Seconds each fuzz harness runs in its CTest smoke test (label fuzz)")

# -O1 after the build type's -O3 wins; -UNDEBUG keeps assert() live, since a fuzzer should trip
# internal invariants too; line tables are enough for reports that name file and line.
target_compile_options(sepnet_options INTERFACE -O1 -gline-tables-only -UNDEBUG
  -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
target_link_options(sepnet_options INTERFACE -fsanitize=address,undefined)

# The kernels stay uninstrumented: the parsers under test never reach them, the gcc ASan build
# tests them, and clang 14 needs over 30 minutes for depthwise_nhwc_avx512.cpp with ASan (27 s
# without). Source-level options come after the target's, so these win.
set_property(SOURCE ${SEPNET_LAYER_SOURCES_kernels} APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=all -O2)

enable_testing()
file(GLOB SEPNET_FUZZ_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_*.cpp)
set(SEPNET_FUZZ_TARGETS "")
foreach(src IN LISTS SEPNET_FUZZ_SOURCES)
  get_filename_component(harness ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" corpus ${harness})
  if(harness STREQUAL "fuzz_onnx" AND NOT TARGET sepnet_onnx)
    continue()  # the ONNX importer is built only when protobuf and ONNX are found
  endif()
  add_executable(${harness} ${src})
  target_link_libraries(${harness} PRIVATE sepnet::models sepnet_options ZLIB::ZLIB)
  if(harness STREQUAL "fuzz_onnx")
    target_link_libraries(${harness} PRIVATE sepnet::onnx)
  endif()
  target_link_options(${harness} PRIVATE -fsanitize=fuzzer)
  list(APPEND SEPNET_FUZZ_TARGETS ${harness})
  # A short run over a scratch copy of the seed corpus: every seed replays, then a little mutation.
  add_test(NAME ${harness}
    COMMAND ${PROJECT_SOURCE_DIR}/fuzz/smoke.sh $<TARGET_FILE:${harness}> ${PROJECT_SOURCE_DIR}/fuzz/corpus/${corpus}
            ${SEPNET_FUZZ_SMOKE_SECONDS})
  math(EXPR smoke_timeout "${SEPNET_FUZZ_SMOKE_SECONDS} + 300")
  set_tests_properties(${harness} PROPERTIES LABELS fuzz TIMEOUT ${smoke_timeout})
endforeach()
add_custom_target(sepnet_fuzz DEPENDS ${SEPNET_FUZZ_TARGETS})

# Regenerates the committed seed corpora (docs/fuzzing.md):
#   cmake --build build-fuzz --target sepnet_fuzz_seed_corpus && build-fuzz/sepnet_fuzz_seed_corpus fuzz/corpus
add_executable(sepnet_fuzz_seed_corpus ${PROJECT_SOURCE_DIR}/fuzz/make_seed_corpus.cpp)
target_link_libraries(sepnet_fuzz_seed_corpus PRIVATE sepnet::models sepnet_options ZLIB::ZLIB)
