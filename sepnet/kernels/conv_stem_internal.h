// Internal to the stem-convolution family: the row of the variants table each per-ISA
// translation unit exports (conv_stem_{scalar,avx2,avx512}.cpp, each conv_stem_simd.h for its
// vector type); conv_stem.cpp lists them.
#pragma once
#include "sepnet/kernels/conv_stem.h"

namespace sepnet::kernels {
extern const StemConvEntry kStemConvScalar, kStemConvAvx2, kStemConvAvx512;
}  // namespace sepnet::kernels
