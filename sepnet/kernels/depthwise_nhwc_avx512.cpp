// Channels-last depthwise, AVX-512 variant (16 lanes): depthwise_nhwc_simd.h for xsimd's avx512f.
// GCC 12 false positive: _mm512_max_ps passes _mm512_undefined_ps() as the (unused) merge source.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::avx512f>;
}  // namespace
constexpr DepthwiseEntry kDepthwiseNhwcAvx512{dwn::forward_impl<Vec>, dwn::backward_input_impl<Vec>,
                                              dwn::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
