// Activation layout conversions: NCHW [N][C][H·W] <-> NHWC [N][H·W][C], a transpose per image.
// MobileNet runs channels-last (depthwise vectorizes over channels, 1×1 convs are plain GEMMs)
// behind a stem that is NCHW; these sit at the boundaries. Plain C++, blocked 16×16 so both
// sides stream through cache lines; split over images and pixel blocks across threads.
#pragma once

namespace sepnet::kernels {

void nchw_to_nhwc(int batch, int channels, long pixels, const float* src, float* dst);
void nhwc_to_nchw(int batch, int channels, long pixels, const float* src, float* dst);

}  // namespace sepnet::kernels
