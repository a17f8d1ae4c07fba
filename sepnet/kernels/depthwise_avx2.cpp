// NCHW depthwise, AVX2+FMA variant (8 lanes): depthwise_simd.h instantiated for xsimd's avx2.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace
constexpr DepthwiseEntry kDepthwiseAvx2{dw::forward_impl<Vec>, dw::backward_input_impl<Vec>,
                                        dw::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
