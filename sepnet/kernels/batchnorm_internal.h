// Internal to the batch-norm family: the row of the variants table each per-ISA translation unit
// exports (batchnorm_{scalar,avx2,avx512}.cpp, each a copy of batchnorm_impl.h built with its
// own flags); batchnorm.cpp lists them.
#pragma once
#include "sepnet/kernels/batchnorm.h"

namespace sepnet::kernels {
extern const BatchNormEntry kBatchNormScalar, kBatchNormAvx2, kBatchNormAvx512;
}  // namespace sepnet::kernels
