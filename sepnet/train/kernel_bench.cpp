#include "sepnet/train/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/eltwise.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/im2col.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/machine_probe.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/pointwise.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/pool.h"

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

void add(std::vector<KernelCase>& cases, std::string family, std::string kernel, std::string shape,
         double flops, double bytes, bool quick, Prepare prepare) {
  cases.push_back(KernelCase{std::move(family), std::move(kernel), std::move(shape), flops, bytes, quick,
                             std::move(prepare)});
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
      }));
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
  add(cases, "depthwise", "forward", shape, flops, 4.0 * (in + out + w), quick, with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* wt = arena.floats(size_t(w));
        float* y = arena.floats(size_t(out));
        return [=] { forward(s, x, wt, nullptr, y, false); };
      }));
  add(cases, "depthwise", "backward_input", shape, flops, 4.0 * (out + w + 2 * in), quick,
      with_arena([=](Arena& arena) {
        const float* gy = arena.floats(size_t(out));
        const float* wt = arena.floats(size_t(w));
        float* gx = arena.floats(size_t(in));
        return [=] { backward_input(s, gy, wt, gx); };
      }));
  add(cases, "depthwise", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), quick,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { backward_weight(s, x, gy, gw, nullptr); };
      }));
}

kernels::DepthwiseShape depthwise_shape(int batch, int channels, int size, int kernel, int stride, int pad) {
  return kernels::DepthwiseShape{batch, channels, size, size, kernel, kernel, stride, pad};
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
      }));
  add(cases, "conv_stem", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), false,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { kernels::stem_conv2d_backward_weight(s, x, gy, gw, nullptr); };
      }));
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
      }));
  add(cases, "conv_direct", "backward_input", shape, flops, 4.0 * (out + w + 2 * in), false,
      with_arena([=](Arena& arena) {
        const float* gy = arena.floats(size_t(out));
        const float* wt = arena.floats(size_t(w));
        float* gx = arena.floats(size_t(in));
        return [=] { kernels::direct_conv2d_backward_input(s, gy, wt, gx); };
      }));
  add(cases, "conv_direct", "backward_weight", shape, flops, 4.0 * (in + out + 2 * w), false,
      with_arena([=](Arena& arena) {
        const float* x = arena.floats(size_t(in));
        const float* gy = arena.floats(size_t(out));
        float* gw = arena.floats(size_t(w));
        return [=] { kernels::direct_conv2d_backward_weight(s, x, gy, gw, nullptr); };
      }));
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
      }));
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
      }));
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
      }));
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

std::string format_number(double x) {
  if (!std::isfinite(x)) return "-";
  const double a = std::fabs(x);
  if (a >= 100) return fmt::format("{:.0f}", x);
  if (a >= 10) return fmt::format("{:.1f}", x);
  return fmt::format("{:.2f}", x);
}

const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names{"family", "kernel", "shape", "time µs", "GFLOP/s", "GB/s", "% peak",
                                              "% roofline"};
  return names;
}
constexpr size_t kTextColumns = 3;  // family, kernel, shape are left-aligned; the rest right-aligned

std::vector<std::string> cells(const KernelResult& r) {
  const bool has_flops = r.flops > 0;
  return {r.family,
          r.kernel,
          r.shape,
          format_number(r.median_us),
          has_flops ? format_number(r.gflops) : "-",
          format_number(r.gbs),
          has_flops ? fmt::format("{:.1f}", r.pct_peak) : "-",
          fmt::format("{:.1f}", r.pct_roofline)};
}

// Display width in code points (the headers hold "µ"), enough for alignment here.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80) ++n;
  return n;
}

std::string pad(const std::string& s, size_t width, bool left_align) {
  const size_t w = display_width(s);
  const std::string fill(width > w ? width - w : 0, ' ');
  return left_align ? s + fill : fill + s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char ch : s) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  return quoted + "\"";
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

  // The MNIST convs as training runs them (direct kernels, no im2col).
  add_conv_direct(all, kernels::DirectConvShape{64, 1, 28, 28, 6, 5, 5, 0}, "cnn conv1", true);
  add_conv_direct(all, kernels::DirectConvShape{64, 6, 12, 12, 16, 5, 5, 0}, "cnn conv2", false);
  add_conv_direct(all, kernels::DirectConvShape{64, 6, 12, 12, 6, 5, 5, 0}, "dw conv2 (6->6)", false);

  // MobileNet's stem (3 -> 32·α channels, 3×3 stride 2), as its channels-last form runs it.
  add_conv_stem(all, kernels::StemConvShape{1, 3, 224, 224, 32, 3, 3, 2, 1}, "MobileNet a1", true);
  add_conv_stem(all, kernels::StemConvShape{32, 3, 128, 128, 8, 3, 3, 2, 1}, "MobileNet a0.25", false);

  add_im2col(all, kernels::ConvGeometry{1, 28, 28, 5, 5, 1, 0}, "MNIST conv1", true);
  add_im2col(all, kernels::ConvGeometry{6, 12, 12, 5, 5, 1, 0}, "MNIST conv2", false);
  add_im2col(all, kernels::ConvGeometry{3, 224, 224, 3, 3, 2, 1}, "MobileNet conv1", false);

  // MobileNet v1 depthwise layers at batch 1 (3×3, pad 1) in the NHWC layout MobileNet runs and
  // in NCHW, then the MNIST dw model at batch 64 (5×5, no pad; NCHW, as that model runs).
  for (auto [channels, size, stride] : {std::tuple{32, 112, 1}, {64, 112, 2}, {128, 56, 1}, {256, 28, 1},
                                        {512, 14, 1}, {1024, 7, 1}}) {
    add_depthwise(all, depthwise_shape(1, channels, size, 3, stride, 1), false, true);
    add_depthwise(all, depthwise_shape(1, channels, size, 3, stride, 1), false);
  }
  add_depthwise(all, depthwise_shape(64, 1, 28, 5, 1, 0), false);
  add_depthwise(all, depthwise_shape(64, 6, 12, 5, 1, 0), true);

  for (auto [cin, cout, side] : {std::tuple{32, 64, 112}, {128, 128, 56}, {512, 512, 14}, {1024, 1024, 7}})
    add_pointwise(all, kernels::PointwiseShape{1, cin, cout, side * side}, side, false, false);
  add_pointwise(all, kernels::PointwiseShape{64, 1, 6, 24 * 24}, 24, true, false);
  add_pointwise(all, kernels::PointwiseShape{64, 6, 16, 8 * 8}, 8, true, true);

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

// ---------------------------------------------------------------- machine
std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    if (start == std::string::npos) continue;
    return line.substr(start);
  }
  return "unknown CPU";
}

MachineInfo probe_machine() {
  MachineInfo m;
  m.cpu_model = cpu_model_name();
  m.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream loadavg("/proc/loadavg");
  if (!(loadavg >> m.load_average)) m.load_average = -1;
  m.isa = kernels::isa_name(kernels::active_isa());
  if (kernels::active_isa() != kernels::best_supported_isa())
    m.isa += fmt::format(" (forced; best supported: {})", kernels::isa_name(kernels::best_supported_isa()));
  m.threads = kernels::available_threads();
  m.peak_gflops = kernels::measure_peak_gflops(m.threads);
  m.bandwidth_gbs = kernels::measure_memory_bandwidth_gbs(m.threads);
  return m;
}

// ---------------------------------------------------------------- timing
KernelResult make_result(const KernelCase& c, double seconds, const MachineInfo& machine) {
  KernelResult r;
  r.family = c.family;
  r.kernel = c.kernel;
  r.shape = c.shape;
  r.flops = c.flops;
  r.bytes = c.bytes;
  r.median_us = seconds * 1e6;
  r.gflops = c.flops / seconds * 1e-9;
  r.gbs = c.bytes / seconds * 1e-9;
  r.pct_peak = machine.peak_gflops > 0 ? r.gflops / machine.peak_gflops * 100.0 : 0.0;
  if (c.flops > 0) {
    const double roof = std::min(machine.peak_gflops, machine.bandwidth_gbs * c.flops / c.bytes);
    r.pct_roofline = roof > 0 ? r.gflops / roof * 100.0 : 0.0;
  } else {
    // Zero arithmetic intensity: the roof is the bandwidth itself (the limit of the formula above).
    r.pct_roofline = machine.bandwidth_gbs > 0 ? r.gbs / machine.bandwidth_gbs * 100.0 : 0.0;
  }
  return r;
}

KernelResult run_case(const KernelCase& c, const BenchOptions& options, const MachineInfo& machine) {
  const std::function<void()> run = c.prepare();
  using clock = std::chrono::steady_clock;
  auto time_calls = [&](long calls) {
    const auto start = clock::now();
    for (long i = 0; i < calls; ++i) run();
    return std::chrono::duration<double>(clock::now() - start).count();
  };

  time_calls(1);  // warm-up: first-touch page faults, caches, lazily built state
  const int min_batches = std::max(1, options.min_batches);
  const double batch_target = std::max(0.0, options.min_time_s) / min_batches;
  long calls = 1;
  double elapsed = time_calls(calls);
  constexpr long kMaxCalls = 1L << 30;
  while (elapsed < batch_target && calls < kMaxCalls) {
    // Grow towards the target in one step when the estimate is sane, bounded against clock noise.
    const double factor = elapsed > 0 ? std::clamp(batch_target / elapsed * 1.2, 2.0, 16.0) : 16.0;
    calls = std::min(kMaxCalls, static_cast<long>(std::ceil(calls * factor)));
    elapsed = time_calls(calls);
  }

  std::vector<double> per_call;
  double total = 0;
  while (static_cast<int>(per_call.size()) < min_batches || total < options.min_time_s) {
    const double t = time_calls(calls);
    per_call.push_back(t / calls);
    total += t;
  }
  std::sort(per_call.begin(), per_call.end());
  const size_t n = per_call.size();
  const double median = n % 2 ? per_call[n / 2] : 0.5 * (per_call[n / 2 - 1] + per_call[n / 2]);

  KernelResult r = make_result(c, median, machine);
  r.calls_per_batch = calls;
  r.batches = static_cast<int>(n);
  return r;
}

std::vector<KernelResult> run_cases(const std::vector<KernelCase>& cases, const BenchOptions& options,
                                    const MachineInfo& machine,
                                    const std::function<void(size_t, size_t, const KernelCase&)>& progress) {
  std::vector<KernelResult> results;
  results.reserve(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    if (progress) progress(i, cases.size(), cases[i]);
    results.push_back(run_case(cases[i], options, machine));
  }
  return results;
}

// ---------------------------------------------------------------- reports
std::vector<std::string> header_lines(const MachineInfo& machine) {
  std::vector<std::string> lines;
  lines.push_back(machine.logical_cpus > 0
                      ? fmt::format("CPU: {} ({} logical CPUs)", machine.cpu_model, machine.logical_cpus)
                      : fmt::format("CPU: {}", machine.cpu_model));
  lines.push_back(fmt::format("ISA path: {}", machine.isa));
  lines.push_back(fmt::format("threads: {}", machine.threads));
  lines.push_back(fmt::format("measured peak: {:.1f} GFLOP/s FP32", machine.peak_gflops));
  lines.push_back(fmt::format("measured bandwidth: {:.1f} GB/s (STREAM triad)", machine.bandwidth_gbs));
  if (machine.load_average >= 0) {
    // Other processes on the cores stall every OpenMP barrier for a scheduler slice.
    const bool busy = machine.threads > 1 && machine.logical_cpus > 0 &&
                      machine.load_average + machine.threads > machine.logical_cpus + 0.5;
    lines.push_back(fmt::format("load average before the run: {:.2f}{}", machine.load_average,
                                busy ? " (busy machine: multi-threaded timings are unreliable)" : ""));
  }
  return lines;
}

std::string format_table(const std::vector<KernelResult>& results, const MachineInfo& machine) {
  const auto& names = column_names();
  std::vector<std::vector<std::string>> rows;
  rows.push_back(names);
  for (const auto& r : results) rows.push_back(cells(r));
  std::vector<size_t> widths(names.size(), 0);
  for (const auto& row : rows)
    for (size_t j = 0; j < row.size(); ++j) widths[j] = std::max(widths[j], display_width(row[j]));

  std::string out;
  for (const auto& line : header_lines(machine)) out += line + "\n";
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t j = 0; j < rows[i].size(); ++j) {
      if (j) line += "  ";
      line += pad(rows[i][j], widths[j], j < kTextColumns);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string format_markdown(const std::vector<KernelResult>& results, const MachineInfo& machine) {
  const auto& names = column_names();
  std::string out = "# sepnet kernel profile\n\n";
  for (const auto& line : header_lines(machine)) out += "- " + line + "\n";
  out += "\n|";
  for (const auto& name : names) out += " " + name + " |";
  out += "\n|";
  for (size_t j = 0; j < names.size(); ++j) out += j < kTextColumns ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& r : results) {
    out += "|";
    for (const auto& cell : cells(r)) out += " " + cell + " |";
    out += "\n";
  }
  return out;
}

std::string format_csv(const std::vector<KernelResult>& results) {
  std::string out =
      "family,kernel,shape,time_us,gflops,gbs,pct_peak,pct_roofline,flops,bytes,calls_per_batch,batches\n";
  for (const auto& r : results)
    out += fmt::format("{},{},{},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},{:.0f},{:.0f},{},{}\n", csv_field(r.family),
                       csv_field(r.kernel), csv_field(r.shape), r.median_us, r.gflops, r.gbs, r.pct_peak,
                       r.pct_roofline, r.flops, r.bytes, r.calls_per_batch, r.batches);
  return out;
}

std::vector<std::string> write_reports(const std::string& dir, const std::vector<KernelResult>& results,
                                       const MachineInfo& machine) {
  std::filesystem::create_directories(dir);
  const std::string md = (std::filesystem::path(dir) / "kernels.md").string();
  const std::string csv = (std::filesystem::path(dir) / "kernels.csv").string();
  write_file_atomically(md, format_markdown(results, machine));
  write_file_atomically(csv, format_csv(results));
  return {md, csv};
}

}  // namespace sepnet::bench
