// Batch-norm kernels compiled with the avx2 flags (bodies in batchnorm_impl.h).
#include "sepnet/kernels/batchnorm_impl.h"
#include "sepnet/kernels/batchnorm_internal.h"

SEPNET_BN_DEFINE_PATH(bn_avx2)
