// 2×2 max pooling compiled with the avx2 flags (pool_rows.h), exported as the avx2 row of
// the variants table.
#include "sepnet/kernels/pool_internal.h"
#include "sepnet/kernels/pool_rows.h"

namespace sepnet::kernels {
constexpr PoolEntry kPoolAvx2{max_pool_2x2_planes};
}  // namespace sepnet::kernels
