// The definitions of batch normalization (NCHW) and its gradient, one element at a time, every
// sum in double: what the kernels (batchnorm.h) are tested against.
#include <cmath>

#include "sepnet/kernels/batchnorm.h"

namespace sepnet::kernels {

namespace {
long at(const BatchNormShape& s, int n, int c, long i) {
  return (static_cast<long>(n) * s.channels + c) * s.spatial + i;
}
float relu_if(bool relu, double v) { return static_cast<float>(relu && v < 0.0 ? 0.0 : v); }
}  // namespace

void batchnorm_forward_train_reference(const BatchNormShape& s, const float* x, const float* gamma,
                                       const float* beta, float eps, float* y, float* mean, float* var,
                                       float* invstd, bool fuse_relu) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  for (int c = 0; c < s.channels; ++c) {
    double m = 0.0, v = 0.0;
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i) m += x[at(s, n, c, i)];
    m /= count;
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i) v += (x[at(s, n, c, i)] - m) * (x[at(s, n, c, i)] - m);
    v /= count;  // biased
    const double is = 1.0 / std::sqrt(v + eps);
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(v);
    invstd[c] = static_cast<float>(is);
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i)
        y[at(s, n, c, i)] = relu_if(fuse_relu, gamma[c] * (x[at(s, n, c, i)] - m) * is + beta[c]);
  }
}

void batchnorm_forward_eval_reference(const BatchNormShape& s, const float* x, const float* gamma,
                                      const float* beta, const float* running_mean,
                                      const float* running_var, float eps, float* y, bool fuse_relu) {
  for (int c = 0; c < s.channels; ++c) {
    const double is = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i)
        y[at(s, n, c, i)] = relu_if(fuse_relu, gamma[c] * (x[at(s, n, c, i)] - running_mean[c]) * is + beta[c]);
  }
}

void batchnorm_backward_reference(const BatchNormShape& s, const float* x, const float* grad_y,
                                  const float* gamma, const float* mean, const float* invstd, float* grad_x,
                                  float* grad_gamma, float* grad_beta, bool accumulate_x,
                                  const float* relu_output) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  for (int c = 0; c < s.channels; ++c) {
    // The BN output's gradient: grad_y, or 0 where the fused ReLU's output is not positive.
    auto dy = [&](long k) { return relu_output && !(relu_output[k] > 0.0f) ? 0.0 : double(grad_y[k]); };
    auto xhat = [&](long k) { return (double(x[k]) - mean[c]) * invstd[c]; };
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i) {
        sum_dy += dy(at(s, n, c, i));
        sum_dy_xhat += dy(at(s, n, c, i)) * xhat(at(s, n, c, i));
      }
    if (grad_gamma) grad_gamma[c] += static_cast<float>(sum_dy_xhat);
    if (grad_beta) grad_beta[c] += static_cast<float>(sum_dy);
    if (!grad_x) continue;
    // dx = gamma·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))
    for (int n = 0; n < s.batch; ++n)
      for (long i = 0; i < s.spatial; ++i) {
        const long k = at(s, n, c, i);
        const double dx = double(gamma[c]) * invstd[c] * (dy(k) - sum_dy / count - xhat(k) * sum_dy_xhat / count);
        grad_x[k] = static_cast<float>(accumulate_x ? grad_x[k] + dx : dx);
      }
  }
}

}  // namespace sepnet::kernels
