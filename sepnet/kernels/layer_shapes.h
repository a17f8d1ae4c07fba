// The layer shapes the kernels are measured and tested on, in one list: the benchmark programs
// (bench/), `sepnet bench` (train/kernel_bench) and the kernel tests all take them from here, so
// a shape named in docs/ is the same shape everywhere. Plain data.
#pragma once
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/pointwise.h"

namespace sepnet::kernels::layer_shapes {

// A 1×1 layer: C_in → C_out on a side × side plane.
struct PointwiseLayer {
  int in_channels, out_channels, side;
  constexpr PointwiseShape shape(int batch) const { return {batch, in_channels, out_channels, side * side}; }
};

template <class Shape>
struct Named {
  Shape shape;
  const char* name;
};

// MobileNet v1 (α = 1, 224² images), batch 1: its distinct 3×3 depthwise layers (pad 1; the
// stride-2 ones besides the first have the same cost per output as their stride-1 neighbours)…
inline constexpr DepthwiseShape kMobileNetDepthwise[] = {
    {1, 32, 112, 112, 3, 3, 1, 1}, {1, 64, 112, 112, 3, 3, 2, 1}, {1, 128, 56, 56, 3, 3, 1, 1},
    {1, 256, 28, 28, 3, 3, 1, 1},  {1, 512, 14, 14, 3, 3, 1, 1},  {1, 1024, 7, 7, 3, 3, 1, 1},
};
// …and the 1×1 layers after them.
inline constexpr PointwiseLayer kMobileNetPointwise[] = {
    {32, 64, 112}, {64, 128, 56}, {128, 128, 56}, {256, 256, 28}, {512, 512, 14}, {1024, 1024, 7},
};
// Its stem (3 → 32·α channels, 3×3 stride 2) at α = 1, 0.5 and 0.25.
inline constexpr Named<StemConvShape> kMobileNetStem[] = {
    {{1, 3, 224, 224, 32, 3, 3, 2, 1}, "MobileNet a1"},
    {{8, 3, 128, 128, 16, 3, 3, 2, 1}, "MobileNet a0.5"},
    {{32, 3, 128, 128, 8, 3, 3, 2, 1}, "MobileNet a0.25"},
};

// The MNIST networks, batch 64: the depthwise-separable model's 5×5 depthwise layers (no pad)…
inline constexpr DepthwiseShape kMnistDepthwise[] = {
    {64, 1, 28, 28, 5, 5, 1, 0},
    {64, 6, 12, 12, 5, 5, 1, 0},
};
// …and its 1×1 layers (1 → 6 at 24², 6 → 16 at 8²).
inline constexpr PointwiseLayer kMnistPointwise[] = {{1, 6, 24}, {6, 16, 8}};
// The CNN's 5×5 convolutions as the direct kernels run them, and the depthwise-separable
// model's second 5×5 as written (6 → 6, dense).
inline constexpr Named<DirectConvShape> kMnistDirectConv[] = {
    {{64, 1, 28, 28, 6, 5, 5, 0}, "cnn conv1"},
    {{64, 6, 12, 12, 16, 5, 5, 0}, "cnn conv2"},
    {{64, 6, 12, 12, 6, 5, 5, 0}, "dw conv2 (6->6)"},
};

}  // namespace sepnet::kernels::layer_shapes
