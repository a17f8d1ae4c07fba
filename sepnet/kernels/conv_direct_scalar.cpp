// Direct convolution kernels, scalar (baseline x86-64, 1 lane) variant: conv_direct_simd.h for its vector type.
#include "sepnet/kernels/conv_direct_internal.h"
#include "sepnet/kernels/conv_direct_simd.h"
#include "sepnet/kernels/scalar_lane.h"

namespace sepnet::kernels {
namespace {
using Vec = scalar_simd::Lane;
}  // namespace
constexpr DirectConvEntry kDirectConvScalar{direct::forward_impl<Vec>, direct::backward_input_impl<Vec>,
                                        direct::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
