// Channels-last depthwise, scalar variant (baseline x86-64): depthwise_nhwc_simd.h with a 1-lane
// "vector", so the SIMD code structure is exercised on every CPU.
#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"
#include "sepnet/kernels/scalar_lane.h"

namespace sepnet::kernels {
namespace {
using Vec = scalar_simd::Lane;
}  // namespace
constexpr DepthwiseEntry kDepthwiseNhwcScalar{dwn::forward_impl<Vec>, dwn::backward_input_impl<Vec>,
                                              dwn::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
