// Internal to the pool family: the row of the variants table each per-ISA translation unit
// exports (pool_{scalar,avx2,avx512}.cpp, each a copy of pool_rows.h built with its own flags);
// pool.cpp lists them.
#pragma once
#include "sepnet/kernels/pool.h"

namespace sepnet::kernels {
extern const PoolEntry kPoolScalar, kPoolAvx2, kPoolAvx512;
}  // namespace sepnet::kernels
