// 2×2 max pooling compiled with the avx2 flags (see pool_rows.h).
#include "sepnet/kernels/pool_internal.h"
#include "sepnet/kernels/pool_rows.h"

namespace sepnet::kernels::pool_avx2 {
void max_pool_2x2_planes(int in_h, int in_w, long p0, long p1, const float* input, float* output, int32_t* argmax) {
  kernels::max_pool_2x2_planes(in_h, in_w, p0, p1, input, output, argmax);
}
}  // namespace sepnet::kernels::pool_avx2
