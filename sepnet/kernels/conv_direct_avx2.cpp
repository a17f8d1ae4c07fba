// Direct convolution kernels, AVX2+FMA (8 lanes) variant: conv_direct_simd.h for its vector type.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_direct_internal.h"
#include "sepnet/kernels/conv_direct_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace
constexpr DirectConvEntry kDirectConvAvx2{direct::forward_impl<Vec>, direct::backward_input_impl<Vec>,
                                        direct::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
