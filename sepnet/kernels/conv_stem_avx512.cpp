// Stem convolution, AVX-512 (16 lanes) instantiation of conv_stem_simd.h.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"

namespace {
using Vec = xsimd::batch<float, xsimd::avx512f>;
}  // namespace

SEPNET_STEM_DEFINE_PATH(avx512, Vec)
