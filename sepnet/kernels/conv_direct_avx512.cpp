// Direct convolution kernels, AVX-512 (16 lanes) variant: conv_direct_simd.h for its vector type.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_direct_internal.h"
#include "sepnet/kernels/conv_direct_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::avx512f>;
}  // namespace
constexpr DirectConvEntry kDirectConvAvx512{direct::forward_impl<Vec>, direct::backward_input_impl<Vec>,
                                        direct::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
