// Stem convolution, AVX2+FMA (8 lanes) variant:
// conv_stem_simd.h for its vector type.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace
constexpr StemConvEntry kStemConvAvx2{stem::forward_impl<Vec>, stem::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
