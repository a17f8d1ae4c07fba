// Channels-last depthwise, AVX2+FMA variant (8 lanes): depthwise_nhwc_simd.h for xsimd's avx2.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace
constexpr DepthwiseEntry kDepthwiseNhwcAvx2{dwn::forward_impl<Vec>, dwn::backward_input_impl<Vec>,
                                            dwn::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
