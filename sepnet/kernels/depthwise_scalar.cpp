// NCHW depthwise, scalar variant (baseline x86-64): depthwise_simd.h with a 1-lane "vector", so
// the SIMD code structure is exercised on every CPU and the path is still much faster than the
// branchy *_reference loops.
#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_simd.h"
#include "sepnet/kernels/scalar_lane.h"

namespace sepnet::kernels {
namespace {
using Vec = scalar_simd::Lane;
}  // namespace
constexpr DepthwiseEntry kDepthwiseScalar{dw::forward_impl<Vec>, dw::backward_input_impl<Vec>,
                                          dw::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
