#include <cmath>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"

namespace sepnet::ops {

Tensor nll_loss(const Tensor& logp, const std::vector<int32_t>& labels) {
  detail::require_ndim("nll_loss", "log-probabilities", logp, 2);
  const long rows = logp.dim(0), classes = logp.dim(1);
  if (static_cast<long>(labels.size()) != rows)
    detail::shape_error("nll_loss", std::to_string(labels.size()) + " labels for " + std::to_string(rows) + " rows");
  for (int32_t l : labels)
    if (l < 0 || l >= classes)
      detail::shape_error("nll_loss", "label " + std::to_string(l) + " outside [0, " + std::to_string(classes) + ")");
  auto li = logp.impl_ptr();
  Tensor loss = make_result({1}, {logp}, [li, labels, rows, classes](TensorImpl& self) {
    const float g = self.grad->data()[0] / static_cast<float>(rows);
    float* gl = li->grad_data();
    for (long r = 0; r < rows; ++r) gl[r * classes + labels[static_cast<size_t>(r)]] -= g;
  });
  double total = 0.0;
  for (long r = 0; r < rows; ++r) total -= logp.data()[r * classes + labels[static_cast<size_t>(r)]];
  loss.data()[0] = static_cast<float>(total / static_cast<double>(rows));
  return loss;
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels) {
  return nll_loss(log_softmax(logits), labels);
}

}  // namespace sepnet::ops
