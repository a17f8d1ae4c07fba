// Internal to the pool family: the 2×2 stride-2 forward per ISA translation unit
// (pool_avx2.cpp, pool_avx512.cpp; the baseline copy lives in pool.cpp). pool.cpp dispatches.
#pragma once
#include <cstdint>

namespace sepnet::kernels {
namespace pool_avx2 {
void max_pool_2x2_planes(int in_h, int in_w, long p0, long p1, const float* input, float* output, int32_t* argmax);
}
namespace pool_avx512 {
void max_pool_2x2_planes(int in_h, int in_w, long p0, long p1, const float* input, float* output, int32_t* argmax);
}
}  // namespace sepnet::kernels
