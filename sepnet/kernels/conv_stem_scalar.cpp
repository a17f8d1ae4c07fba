// Stem convolution, scalar (baseline x86-64) instantiation of conv_stem_simd.h: the same
// algorithm with a 1-lane "vector", so its structure is exercised on every CPU.
#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/conv_stem_simd.h"
#include "sepnet/kernels/scalar_lane.h"

SEPNET_STEM_DEFINE_PATH(scalar, scalar_simd::Lane)
