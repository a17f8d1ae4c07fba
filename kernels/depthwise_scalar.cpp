// Depthwise kernels, scalar (baseline x86-64) instantiation of depthwise_simd.h: the same
// padded flat-plane algorithm with a 1-lane "vector", so the SIMD code structure is exercised
// on every CPU and the path is still much faster than the branchy *_reference loops.
#include "kernels/depthwise_internal.h"
#include "kernels/depthwise_simd.h"

namespace sepnet::kernels::dw::scalar {
namespace {

struct Lane {
  static constexpr std::size_t size = 1;
  float v;
  Lane() = default;
  explicit Lane(float x) : v(x) {}
  static Lane load_unaligned(const float* p) { return Lane(*p); }
  void store_unaligned(float* p) const { *p = v; }
  Lane& operator+=(Lane o) {
    v += o.v;
    return *this;
  }
  friend Lane operator+(Lane a, Lane b) { return Lane(a.v + b.v); }
  friend Lane fma(Lane a, Lane b, Lane c) { return Lane(a.v * b.v + c.v); }
  friend Lane max(Lane a, Lane b) { return Lane(a.v > b.v ? a.v : b.v); }
};

}  // namespace

void forward(const DepthwiseShape& s, const float* input, const float* weight, const float* bias,
             float* output, bool fuse_relu) {
  forward_impl<Lane>(s, input, weight, bias, output, fuse_relu);
}
void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,
                    float* grad_input) {
  backward_input_impl<Lane>(s, grad_output, weight, grad_input);
}
void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,
                     float* grad_weight, float* grad_bias) {
  backward_weight_impl<Lane>(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels::dw::scalar
