// 2×2 max pooling compiled with baseline x86-64 flags (SSE2) (pool_rows.h), exported as the scalar row of
// the variants table.
#include "sepnet/kernels/pool_internal.h"
#include "sepnet/kernels/pool_rows.h"

namespace sepnet::kernels {
constexpr PoolEntry kPoolScalar{max_pool_2x2_planes};
}  // namespace sepnet::kernels
