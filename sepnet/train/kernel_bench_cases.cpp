// `sepnet bench`, part 1 of 3 (kernel_bench.h): the case lists — every kernel family on fixed
// shapes (the layer shapes of kernels/layer_shapes.h, square GEMMs), each case with its FLOP
// and byte counts, the buffers it needs and the name of the variant the dispatcher picks.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/dispatch.h"
#include "sepnet/kernels/eltwise.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/im2col.h"
#include "sepnet/kernels/layer_shapes.h"
#include "sepnet/kernels/pointwise.h"
#include "sepnet/kernels/pool.h"
#include "sepnet/train/kernel_bench.h"

namespace sepnet::bench {
namespace {


// Owns the buffers of one case: 64-byte aligned (as Tensor storage is), filled with
// deterministic values in [-1, 1) so no kernel sees NaN/denormal inputs.
class Arena {
 public:
  float* floats(size_t count) {
    float* p = static_cast<float*>(allocate(count * sizeof(float)));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t i = 0; i < count; ++i) p[i] = dist(rng_);
    return p;
  }
  int32_t* ints(size_t count) {
    auto* p = static_cast<int32_t*>(allocate(count * sizeof(int32_t)));
    std::fill(p, p + count, 0);
    return p;
  }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  void* allocate(size_t bytes) {
    const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw std::bad_alloc();
    blocks_.emplace_back(p);
    return p;
  }
  std::mt19937 rng_{12345};
  std::vector<std::unique_ptr<void, Free>> blocks_;
};

using Prepare = std::function<std::function<void()>()>;

// Wraps `make(arena)` so the arena lives exactly as long as the returned run closure.
template <typename Make>
Prepare with_arena(Make make) {
  return [make] {
    auto arena = std::make_shared<Arena>();
    auto run = make(*arena);
    return std::function<void()>([arena, run] { run(); });
  };
}

using VariantName = std::function<std::string()>;

void add(std::vector<KernelCase>& cases, std::string family, std::string kernel, std::string shape,
         double flops, double bytes, bool quick, Prepare prepare, VariantName variant = {}) {
  cases.push_back(KernelCase{std::move(family), std::move(kernel), std::move(shape), flops, bytes, quick,
                             std::move(prepare), std::move(variant)});
}

// The name of the row a family's dispatcher selects for (op, shape) when called (kernels/dispatch.h).
template <class Table, class Rule, class Op, class Shape>
VariantName selected(Table (*variants)(), Rule rule, Op op, Shape shape) {
  return [=] { return std::string(kernels::selected_variant(variants(), rule, op, shape).name); };
}

// ---------------------------------------------------------------- gemm
void add_gemm(std::vector<KernelCase>& cases, int m, int n, int k, bool trans_b, const std::string& note,
              bool quick) {
  const double flops = 2.0 * m * n * k;
  const double bytes = 4.0 * (double(m) * k + double(k) * n + double(m) * n);
  std::string shape = fmt::format("{}x{}x{}", m, n, k);
  if (!note.empty()) shape += " " + note;
  add(cases, "gemm", trans_b ? "sgemm NT" : "sgemm NN", shape, flops, bytes, quick,
      with_arena([=](Arena& arena) {
        const float* a = arena.floats(size_t(m) * k);
        const float* b = arena.floats(size_t(k) * n);
        float* c = arena.floats(size_t(m) * n);
        const int ldb = trans_b ? k : n;
        return [=] { kernels::sgemm(false, trans_b, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n); };
      }),
      selected(kernels::gemm_variants, kernels::gemm_isa_for, kernels::GemmOp::sgemm,
               kernels::GemmShape{false, trans_b, m, n, k}));
}

// ---------------------------------------------------------------- im2col / col2im
// Column entries that fall inside the image: each is one add in col2im.
double col2im_in_bounds(const kernels::ConvGeometry& g) {
  auto count = [&](int out, int in, int kernel) {
    long total = 0;
    for (int ki = 0; ki < kernel; ++ki)
      for (int o = 0; o < out; ++o) {
        const int i = o * g.stride + ki - g.pad;
        if (i >= 0 && i < in) ++total;
      }
    return double(total);
  };
  return double(g.channels) * count(g.out_h(), g.in_h, g.kernel_h) * count(g.out_w(), g.in_w, g.kernel_w);
}

void add_im2col(std::vector<KernelCase>& cases, const kernels::ConvGeometry& g, const std::string& note,
                bool quick) {
  const double image = double(g.channels) * g.in_h * g.in_w;
  const double columns = double(g.column_rows()) * g.column_cols();
  const std::string shape = fmt::format("{}x{}x{} k{} s{} p{} {}", g.channels, g.in_h, g.in_w, g.kernel_h,
                                        g.stride, g.pad, note);
  add(cases, "im2col", "im2col", shape, 0.0, 4.0 * (image + columns), quick, with_arena([=](Arena& arena) {
        const float* in = arena.floats(size_t(image));
        float* col = arena.floats(size_t(columns));
        return [=] { kernels::im2col(g, in, col); };
      }));
  // The image gradient is accumulated: read and written.
  add(cases, "col2im", "col2im_accumulate", shape, col2im_in_bounds(g), 4.0 * (columns + 2 * image), quick,
      with_arena([=](Arena& arena) {
        const float* col = arena.floats(size_t(columns));
        float* grad = arena.floats(size_t(image));
        return [=] { kernels::col2im_accumulate(g, col, grad); };
      }));
}

// ---------------------------------------------------------------- depthwise
// nhwc: the channels-last kernels (MobileNet runs them), with the shape marked "nhwc".
void add_depthwise(std::vector<KernelCase>& cases, const kernels::DepthwiseShape& s, bool quick, bool nhwc = false) {
  const double in = double(s.batch) * s.channels * s.in_h * s.in_w;
  const double out = double(s.batch) * s.channels * s.out_h() * s.out_w();
  const double w = double(s.channels) * s.kernel_h * s.kernel_w;
  const double flops = 2.0 * out * s.kernel_h * s.kernel_w;
  const std::string shape = fmt::format("{}x{}x{} k{} s{} p{} b{}{}", s.channels, s.in_h, s.in_w, s.kernel_h,
                                        s.stride, s.pad, s.batch, nhwc ? " nhwc" : "");
  namespace k = kernels;
  const auto forward = nhwc ? k::depthwise_conv2d_nhwc_forward : k::depthwise_conv2d_forward;
  const auto backward_input = nhwc ? k::depthwise_conv2d_nhwc_backward_input : k::depthwise_conv2d_backward_input;
  const auto backward_weight = nhwc ? k::depthwise_conv2d_nhwc_backward_weight : k::depthwise_conv2d_backward_weight;
  const auto variants = nhwc ? k::depthwise_nhwc_variants : k::depthwise_variants;
  const auto rule = nhwc ? k::depthwise_nhwc_isa_for : k::depthwise_isa_for;
  add(cases, "depthwise", "forward", shape, flops, 4.0 * (in + out + w), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* wt = arena.floats(size_t(w));
        float* y = arena.floats(size_t(out));
        return [=] { forward(s, x, wt, nullptr, y, false); };
      }),
      selected(variants, rule, k::DepthwiseOp::forward, s));
  add(cases, "depthwise", "backward_input", shape, flops, 4.0 * (out + w + 2 * in), quick,
      with_arena([=](Arena& arena) {
        const float* gy = arena.floats(size_t(out));
        const float* wt = arena.floats(size_t(w));
        float* gx = arena.floats(size_t(in));
        return [=] { backward_input(s, gy, wt, gx); };
      }),
      selected(variants, rule, k::DepthwiseOp::backward_input, s));
  add(cases, "depthwise", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), quick,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { backward_weight(s, x, gy, gw, nullptr); };
      }),
      selected(variants, rule, k::DepthwiseOp::backward_weight, s));
}


// ---------------------------------------------------------------- stem convolution (NCHW in, NHWC out)
void add_conv_stem(std::vector<KernelCase>& cases, const kernels::StemConvShape& s, const std::string& note,
                   bool quick) {
  const double in = double(s.batch) * s.in_channels * s.in_h * s.in_w;
  const double out = double(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const double w = double(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  const double flops = 2.0 * out * s.in_channels * s.kernel_h * s.kernel_w;
  const std::string shape = fmt::format("{}->{} @{}x{} k{} s{} p{} b{} {}", s.in_channels, s.out_channels, s.in_h,
                                        s.in_w, s.kernel_h, s.stride, s.pad, s.batch, note);
  add(cases, "conv_stem", "forward", shape, flops, 4.0 * (in + out + w), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* wt = arena.floats(size_t(w));
        float* y = arena.floats(size_t(out));
        return [=] { kernels::stem_conv2d_forward(s, x, wt, nullptr, y); };
      }),
      selected(kernels::stem_conv_variants, kernels::stem_conv_isa_for, kernels::StemConvOp::forward, s));
  add(cases, "conv_stem", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), false,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { kernels::stem_conv2d_backward_weight(s, x, gy, gw, nullptr); };
      }),
      selected(kernels::stem_conv_variants, kernels::stem_conv_isa_for, kernels::StemConvOp::backward_weight, s));
}

// ---------------------------------------------------------------- direct (few-channel) convolution
void add_conv_direct(std::vector<KernelCase>& cases, const kernels::DirectConvShape& s, const std::string& note,
                     bool quick) {
  const double in = double(s.batch) * s.in_channels * s.in_h * s.in_w;
  const double out = double(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const double w = double(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  const double flops = 2.0 * out * s.in_channels * s.kernel_h * s.kernel_w;
  const std::string shape = fmt::format("{}->{} @{}x{} k{} p{} b{} {}", s.in_channels, s.out_channels, s.in_h,
                                        s.in_w, s.kernel_h, s.pad, s.batch, note);
  add(cases, "conv_direct", "forward", shape, flops, 4.0 * (in + out + w), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* wt = arena.floats(size_t(w));
        float* y = arena.floats(size_t(out));
        return [=] { kernels::direct_conv2d_forward(s, x, wt, nullptr, y); };
      }),
      selected(kernels::direct_conv_variants, kernels::direct_conv_isa_for, kernels::DirectConvOp::forward, s));
  add(cases, "conv_direct", "backward_input", shape, flops, 4.0 * (out + w + 2 * in), false,
      with_arena([=](Arena& arena) {
        const float* gy = arena.floats(size_t(out));
        const float* wt = arena.floats(size_t(w));
        float* gx = arena.floats(size_t(in));
        return [=] { kernels::direct_conv2d_backward_input(s, gy, wt, gx); };
      }),
      selected(kernels::direct_conv_variants, kernels::direct_conv_isa_for, kernels::DirectConvOp::backward_input, s));
  add(cases, "conv_direct", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), false,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { kernels::direct_conv2d_backward_weight(s, x, gy, gw, nullptr); };
      }),
      selected(kernels::direct_conv_variants, kernels::direct_conv_isa_for, kernels::DirectConvOp::backward_weight, s));
}

// ---------------------------------------------------------------- pointwise
void add_pointwise(std::vector<KernelCase>& cases, const kernels::PointwiseShape& s, int side, bool backward,
                   bool quick) {
  const double in = double(s.batch) * s.in_channels * s.spatial;
  const double out = double(s.batch) * s.out_channels * s.spatial;
  const double w = double(s.in_channels) * s.out_channels;
  const double flops = 2.0 * s.batch * double(s.in_channels) * s.out_channels * s.spatial;
  const std::string shape = fmt::format("{}->{} @{}x{} b{}", s.in_channels, s.out_channels, side, side, s.batch);
  add(cases, "pointwise", "forward", shape, flops, 4.0 * (in + out + w), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* wt = arena.floats(size_t(w));
        float* y = arena.floats(size_t(out));
        return [=] { kernels::pointwise_conv2d_forward(s, x, wt, nullptr, y); };
      }));
  if (!backward) return;
  add(cases, "pointwise", "backward_input", shape, flops, 4.0 * (out + w + 2 * in), false,
      with_arena([=](Arena& arena) {
        const float* gy = arena.floats(size_t(out));
        const float* wt = arena.floats(size_t(w));
        float* gx = arena.floats(size_t(in));
        return [=] { kernels::pointwise_conv2d_backward_input(s, gy, wt, gx); };
      }));
  add(cases, "pointwise", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), false,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { kernels::pointwise_conv2d_backward_weight(s, x, gy, gw, nullptr); };
      }));
}

// ---------------------------------------------------------------- max pool
void add_pool(std::vector<KernelCase>& cases, const kernels::PoolShape& s, bool quick) {
  const double in = double(s.batch) * s.channels * s.in_h * s.in_w;
  const double out = double(s.batch) * s.channels * s.out_h() * s.out_w();
  const std::string shape = fmt::format("{}x{}x{}x{} k{} s{}", s.batch, s.channels, s.in_h, s.in_w, s.kernel, s.stride);
  // Forward: k²−1 comparisons per output; writes the output and the int32 argmax.
  add(cases, "maxpool", "forward", shape, out * (s.kernel * s.kernel - 1), 4.0 * in + 8.0 * out, quick,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        float* y = arena.floats(size_t(out));
        int32_t* argmax = arena.ints(size_t(out));
        return [=] { kernels::max_pool2d_forward(s, x, y, argmax); };
      }),
      s.kernel == 2 && s.stride == 2
          ? selected(kernels::pool_variants, kernels::pool_isa_for, kernels::PoolOp::max_pool_2x2, s)
          : VariantName{});
  // Backward: one add per output into the winner (read + write), reading grad_output and argmax.
  add(cases, "maxpool", "backward", shape, out, 16.0 * out, quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        float* y = arena.floats(size_t(out));
        int32_t* argmax = arena.ints(size_t(out));
        kernels::max_pool2d_forward(s, x, y, argmax);  // real winners for the scatter
        const float* gy = arena.floats(size_t(out));
        float* gx = arena.floats(size_t(in));
        return [=] { kernels::max_pool2d_backward(s, gy, argmax, gx); };
      }));
}

// ---------------------------------------------------------------- batchnorm
// Nominal flops per element: forward 7 (mean: add; variance: sub, mul, add; normalize: sub,
// mul, add with a per-channel scale), backward 10 (Σgy: add; Σgy·(x−mean): sub, mul, add;
// grad_x += k·(gy − mean_gy − (x−mean)·c): sub, mul, sub, sub, mul, add).
void add_batchnorm(std::vector<KernelCase>& cases, const kernels::BatchNormShape& s, int side, bool quick) {
  const double e = double(s.batch) * s.channels * s.spatial;
  const double c = s.channels;
  const std::string shape = fmt::format("{}x{}x{}x{}", s.batch, s.channels, side, side);
  const float eps = 1e-5f;
  add(cases, "batchnorm", "forward_train", shape, 7.0 * e, 4.0 * (2 * e + 5 * c), quick,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(e));
        const float* gamma = arena.floats(size_t(c));
        const float* beta = arena.floats(size_t(c));
        float* y = arena.floats(size_t(e));
        float* mean = arena.floats(size_t(c));
        float* var = arena.floats(size_t(c));
        float* invstd = arena.floats(size_t(c));
        return [=] { kernels::batchnorm_forward_train(s, x, gamma, beta, eps, y, mean, var, invstd); };
      }),
      VariantName{[] { return std::string(kernels::active_variant(kernels::batchnorm_variants()).name); }});
  add(cases, "batchnorm", "backward", shape, 10.0 * e, 4.0 * (4 * e + 7 * c), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(e));
        const float* gamma = arena.floats(size_t(c));
        const float* beta = arena.floats(size_t(c));
        float* y = arena.floats(size_t(e));
        float* mean = arena.floats(size_t(c));
        float* var = arena.floats(size_t(c));
        float* invstd = arena.floats(size_t(c));
        kernels::batchnorm_forward_train(s, x, gamma, beta, eps, y, mean, var, invstd);  // real statistics
        const float* gy = arena.floats(size_t(e));
        float* gx = arena.floats(size_t(e));
        float* ggamma = arena.floats(size_t(c));
        float* gbeta = arena.floats(size_t(c));
        return [=] { kernels::batchnorm_backward(s, x, gy, gamma, mean, invstd, gx, ggamma, gbeta); };
      }),
      VariantName{[] { return std::string(kernels::active_variant(kernels::batchnorm_variants()).name); }});
}

// ---------------------------------------------------------------- eltwise
void add_eltwise(std::vector<KernelCase>& cases) {
  const long count = 1L << 20;
  const std::string shape = fmt::format("{} elements", count);
  add(cases, "relu", "forward", shape, double(count), 8.0 * count, true, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(count));
        float* y = arena.floats(size_t(count));
        return [=] { kernels::relu_forward(count, x, y); };
      }));
  // Backward: compare and add per element; grad_x is read and written.
  add(cases, "relu", "backward", shape, 2.0 * count, 16.0 * count, false, with_arena([=](Arena& arena) {
        const float* y = arena.floats(size_t(count));
        const float* gy = arena.floats(size_t(count));
        float* gx = arena.floats(size_t(count));
        return [=] { kernels::relu_backward(count, y, gy, gx); };
      }));
  // log_softmax: max, sub, exp, add, sub per element (exp counted as one flop, the per-row log ignored).
  const long rows = 64, cols = 10;
  add(cases, "log_softmax", "forward", fmt::format("{}x{}", rows, cols), 5.0 * rows * cols, 8.0 * rows * cols, true,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(rows * cols));
        float* y = arena.floats(size_t(rows * cols));
        return [=] { kernels::log_softmax_rows(rows, cols, x, y); };
      }));
}

}  // namespace

// ---------------------------------------------------------------- case list
std::vector<KernelCase> kernel_cases(bool quick) {
  std::vector<KernelCase> all;

  // GEMM: square, then the MNIST CNN's GEMMs as training runs them: conv as
  // weight (Cout × C·K²) · columns per image, and over a batch of 64 images side by side;
  // the fully connected layers as x (64 × in) · Wᵀ.
  add_gemm(all, 512, 512, 512, false, "", false);
  add_gemm(all, 1024, 1024, 1024, false, "", false);
  add_gemm(all, 6, 576, 25, false, "conv1 per image", true);
  add_gemm(all, 16, 64, 150, false, "conv2 per image", false);
  add_gemm(all, 6, 576 * 64, 25, false, "conv1 batch 64", false);
  add_gemm(all, 16, 64 * 64, 150, false, "conv2 batch 64", false);
  add_gemm(all, 64, 120, 256, true, "fc1 batch 64", true);
  add_gemm(all, 64, 84, 120, true, "fc2 batch 64", false);
  add_gemm(all, 64, 10, 84, true, "fc3 batch 64", false);
  // MobileNet α 0.25 1×1 convs over a batch of 32 at 128² (the tall-skinny path, docs/gemm.md)
  add_gemm(all, 131072, 16, 8, true, "pw 8->16 fwd", false);
  add_gemm(all, 131072, 8, 16, false, "pw 8->16 dX", false);
  add_gemm(all, 32768, 32, 32, true, "pw 32->32 fwd", false);

  namespace shapes = kernels::layer_shapes;
  // The MNIST convs as training runs them (direct kernels, no im2col).
  for (const auto& layer : shapes::kMnistDirectConv)
    add_conv_direct(all, layer.shape, layer.name, &layer == &shapes::kMnistDirectConv[0]);

  // MobileNet's stem (3 -> 32·α channels, 3×3 stride 2), as its channels-last form runs it.
  for (const auto& layer : shapes::kMobileNetStem)
    add_conv_stem(all, layer.shape, layer.name, &layer == &shapes::kMobileNetStem[0]);

  add_im2col(all, kernels::ConvGeometry{1, 28, 28, 5, 5, 1, 0}, "MNIST conv1", true);
  add_im2col(all, kernels::ConvGeometry{6, 12, 12, 5, 5, 1, 0}, "MNIST conv2", false);
  add_im2col(all, kernels::ConvGeometry{3, 224, 224, 3, 3, 2, 1}, "MobileNet conv1", false);

  // MobileNet v1 depthwise layers at batch 1 (3×3, pad 1) in the NHWC layout MobileNet runs and
  // in NCHW, then the MNIST dw model at batch 64 (5×5, no pad; NCHW, as that model runs).
  for (const kernels::DepthwiseShape& s : shapes::kMobileNetDepthwise) {
    add_depthwise(all, s, false, true);
    add_depthwise(all, s, false);
  }
  add_depthwise(all, shapes::kMnistDepthwise[0], false);
  add_depthwise(all, shapes::kMnistDepthwise[1], true);

  for (const auto& layer : shapes::kMobileNetPointwise)
    add_pointwise(all, layer.shape(1), layer.side, false, false);
  add_pointwise(all, shapes::kMnistPointwise[0].shape(64), shapes::kMnistPointwise[0].side, true, false);
  add_pointwise(all, shapes::kMnistPointwise[1].shape(64), shapes::kMnistPointwise[1].side, true, true);

  add_pool(all, kernels::PoolShape{64, 6, 24, 24, 2, 2}, false);
  add_pool(all, kernels::PoolShape{64, 16, 8, 8, 2, 2}, true);

  add_batchnorm(all, kernels::BatchNormShape{64, 6, 24 * 24}, 24, false);
  add_batchnorm(all, kernels::BatchNormShape{64, 16, 8 * 8}, 8, true);

  add_eltwise(all);

  if (!quick) return all;
  std::vector<KernelCase> selected;
  for (auto& c : all)
    if (c.quick) selected.push_back(std::move(c));
  return selected;
}

std::vector<KernelCase> filter_cases(const std::vector<KernelCase>& cases, const std::string& regex) {
  const std::regex pattern(regex, std::regex::ECMAScript);
  std::vector<KernelCase> selected;
  for (const auto& c : cases)
    if (std::regex_search(c.id(), pattern)) selected.push_back(c);
  return selected;
}

}  // namespace sepnet::bench
