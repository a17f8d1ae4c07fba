#include "sepnet/core/data/resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sepnet::data {

std::vector<BilinearResize::Tap> BilinearResize::taps(int64_t in, int64_t out) {
  std::vector<Tap> t(static_cast<size_t>(out));
  const double ratio = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    // PyTorch's area_pixel_compute_source_index for align_corners=False: negative sources clamp to 0.
    const double src = std::max(0.0, (static_cast<double>(o) + 0.5) * ratio - 0.5);
    const int64_t lo = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    const int64_t hi = std::min<int64_t>(lo + 1, in - 1);
    t[static_cast<size_t>(o)] = {static_cast<int32_t>(lo), static_cast<int32_t>(hi), static_cast<float>(src - static_cast<double>(lo))};
  }
  return t;
}

BilinearResize::BilinearResize(int64_t in_rows, int64_t in_cols, int64_t out_rows, int64_t out_cols)
    : in_cols_(in_cols), out_rows_(out_rows), out_cols_(out_cols) {
  if (in_rows < 1 || in_cols < 1 || out_rows < 1 || out_cols < 1 || in_rows > (1 << 20) || in_cols > (1 << 20) ||
      out_rows > (1 << 20) || out_cols > (1 << 20))
    throw std::invalid_argument("bilinear resize: image sides must be in [1, 2^20]");
  row_taps_ = taps(in_rows, out_rows);
  col_taps_ = taps(in_cols, out_cols);
}

void BilinearResize::apply(const uint8_t* in, float* out, float scale, float shift) const {
  for (int64_t y = 0; y < out_rows_; ++y) {
    const Tap r = row_taps_[static_cast<size_t>(y)];
    const uint8_t* top = in + r.lo * in_cols_;
    const uint8_t* bottom = in + r.hi * in_cols_;
    const float wb = r.w_hi, wt = 1.0f - r.w_hi;
    float* o = out + y * out_cols_;
    for (int64_t x = 0; x < out_cols_; ++x) {
      const Tap c = col_taps_[static_cast<size_t>(x)];
      const float left = wt * static_cast<float>(top[c.lo]) + wb * static_cast<float>(bottom[c.lo]);
      const float right = wt * static_cast<float>(top[c.hi]) + wb * static_cast<float>(bottom[c.hi]);
      o[x] = ((1.0f - c.w_hi) * left + c.w_hi * right) * scale + shift;
    }
  }
}

}  // namespace sepnet::data
