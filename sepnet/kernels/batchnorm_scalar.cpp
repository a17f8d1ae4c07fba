// Batch-norm kernels compiled with baseline x86-64 flags (SSE2): the bodies of batchnorm_impl.h, exported
// as the scalar row of the variants table.
#include "sepnet/kernels/batchnorm_impl.h"
#include "sepnet/kernels/batchnorm_internal.h"

namespace sepnet::kernels {
constexpr BatchNormEntry kBatchNormScalar{forward_train_impl,      forward_eval_impl,      backward_impl,
                                      nhwc_forward_train_impl, nhwc_forward_eval_impl, nhwc_backward_impl};
}  // namespace sepnet::kernels
