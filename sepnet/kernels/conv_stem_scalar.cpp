// Stem convolution, scalar variant (baseline x86-64): conv_stem_simd.h with a 1-lane "vector",
// so the algorithm's structure is exercised on every CPU.
#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"
#include "sepnet/kernels/scalar_lane.h"

namespace sepnet::kernels {
namespace {
using Vec = scalar_simd::Lane;
}  // namespace
constexpr StemConvEntry kStemConvScalar{stem::forward_impl<Vec>, stem::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
