// Internal to the GEMM family: the row of the variants table each per-ISA translation unit
// exports (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp); gemm.cpp lists them.
#pragma once
#include "sepnet/kernels/gemm.h"

namespace sepnet::kernels {
extern const GemmEntry kGemmScalar, kGemmAvx2, kGemmAvx512;
}  // namespace sepnet::kernels
