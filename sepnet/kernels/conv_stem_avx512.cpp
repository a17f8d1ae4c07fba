// Stem convolution, AVX-512 (16 lanes) variant:
// conv_stem_simd.h for its vector type.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"

namespace sepnet::kernels {
namespace {
using Vec = xsimd::batch<float, xsimd::avx512f>;
}  // namespace
constexpr StemConvEntry kStemConvAvx512{stem::forward_impl<Vec>, stem::backward_weight_impl<Vec>};
}  // namespace sepnet::kernels
