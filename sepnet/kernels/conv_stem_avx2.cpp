// Stem convolution, AVX2+FMA (8 lanes) instantiation of conv_stem_simd.h.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"

namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace

SEPNET_STEM_DEFINE_PATH(avx2, Vec)
