// Internal to the direct-convolution family: the row of the variants table each per-ISA
// translation unit exports (conv_direct_{scalar,avx2,avx512}.cpp, each conv_direct_simd.h for its
// vector type); conv_direct.cpp lists them.
#pragma once
#include "sepnet/kernels/conv_direct.h"

namespace sepnet::kernels {
extern const DirectConvEntry kDirectConvScalar, kDirectConvAvx2, kDirectConvAvx512;
}  // namespace sepnet::kernels
