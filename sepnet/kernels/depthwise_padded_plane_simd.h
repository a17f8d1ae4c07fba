// Internal to the NCHW depthwise kernels (depthwise_simd.h): the per-thread plane copy they
// read instead of the caller's planes ("flat plane" formulation).
//  * Each (n, c) plane is first copied into a per-thread zero-bordered scratch buffer whose
//    rows have stride `wrow`. For stride s > 1 the padded plane is split into s·s polyphase
//    sub-planes (row phase × column phase), so every tap (ki, kj) of every output pixel reads
//    sub-plane (ki mod s, kj mod s) at a FIXED offset from the output's flat index
//    j = oy·wrow + ox:   in(oy, ox; ki, kj) = buf[off[ki][kj] + j].
//    Padding, strides and edge cases therefore all disappear from the inner loop: it is a 1-D
//    multiply-add of KH·KW shifted contiguous vectors with broadcast weights.
// Anonymous namespace, like every part of the body: each per-ISA translation unit gets its own
// copy (no ODR mixing of ISAs).
#pragma once
#include <algorithm>
#include <cstring>

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::kernels::dw {
namespace {

inline long round_up(long x, long m) { return (x + m - 1) / m * m; }

// Zero-bordered copy of one plane, split into `nsub` = stride column phases: sub-plane cp
// holds padded columns cp, cp + s, cp + 2s, ... of every padded row, so a strided tap
// (row r, column s·ox + kj) is the contiguous run sub[kj mod s][r][ox + kj / s].
struct Layout {
  int stride = 1;
  int rows = 0, wrow = 0;
  long sub_size = 0;
  int nsub = 1;
  long size = 0;  // floats, including slack for full-vector over-reads
};

template <class B>
constexpr int block_vectors() {  // independent accumulators per register tile
  return B::size >= 16 ? 8 : (B::size >= 8 ? 6 : 4);
}

template <class B>
Layout make_layout(int padded_h, int padded_w, int stride) {
  constexpr long V = static_cast<long>(B::size);
  Layout l;
  l.stride = stride;
  l.rows = padded_h + 1;
  l.wrow = (padded_w + stride - 1) / stride;
  l.sub_size = static_cast<long>(l.rows) * l.wrow;
  l.nsub = stride;
  l.size = l.nsub * l.sub_size + l.wrow + 3L * block_vectors<B>() * V + 64;
  return l;
}

// Gathers every s-th element: GCC vectorizes the s == 2 case with shuffles.
template <int S>
void gather_strided(const float* __restrict src, long count, float* __restrict dst) {
  for (long i = 0; i < count; ++i) dst[i] = src[S * i];
}

// Copies an h × w plane into the layout at padded position (y + pad, x + pad).
inline void fill_phases(const Layout& l, const float* src, int h, int w, int pad, float* buf) {
  const int s = l.stride;
  if (s == 1) {
    for (int y = 0; y < h; ++y)
      std::memcpy(buf + static_cast<long>(y + pad) * l.wrow + pad, src + static_cast<long>(y) * w,
                  sizeof(float) * w);
    return;
  }
  // Per column phase cp: the first source column x0 whose padded position x0 + pad has phase
  // cp, where it lands ((x0 + pad) / s) and how many columns follow at step s.
  constexpr int kMaxPhases = 8;
  int first[kMaxPhases];
  long dst_off[kMaxPhases], count[kMaxPhases];
  for (int cp = 0; cp < s && cp < kMaxPhases; ++cp) {
    first[cp] = ((cp - pad) % s + s) % s;
    dst_off[cp] = cp * l.sub_size + (first[cp] + pad) / s;
    count[cp] = first[cp] < w ? (w - first[cp] + s - 1) / s : 0;
  }
  for (int y = 0; y < h; ++y) {
    const float* in = src + static_cast<long>(y) * w;
    float* row = buf + static_cast<long>(y + pad) * l.wrow;
    if (s == 2) {
      gather_strided<2>(in + first[0], count[0], row + dst_off[0]);
      gather_strided<2>(in + first[1], count[1], row + dst_off[1]);
      continue;
    }
    for (int cp = 0; cp < s; ++cp) {
      const int x0 = cp < kMaxPhases ? first[cp] : ((cp - pad) % s + s) % s;
      float* dst = row + cp * l.sub_size + (x0 + pad) / s;
      for (int x = x0, i = 0; x < w; x += s, ++i) dst[i] = in[x];
    }
  }
}

// Copies an oh × ow plane, dilated by `dil`, at position (oy·dil + off_y, ox·dil + off_x) of
// a single rows × cols region of a stride-1 layout, dropping what falls outside (the
// backward-input case: those gradients belong to padding).
inline void fill_dilated(const Layout& l, const float* src, int oh, int ow, int dil, int off_y,
                         int off_x, int rows, int cols, float* buf) {
  for (int oy = 0; oy < oh; ++oy) {
    const int y = oy * dil + off_y;
    if (y < 0 || y >= rows) continue;
    float* row = buf + static_cast<long>(y) * l.wrow;
    const float* in = src + static_cast<long>(oy) * ow;
    if (dil == 1 && off_x >= 0 && off_x + ow <= cols) {
      std::memcpy(row + off_x, in, sizeof(float) * ow);
      continue;
    }
    for (int ox = 0; ox < ow; ++ox) {
      const int x = ox * dil + off_x;
      if (x >= 0 && x < cols) row[x] = in[ox];
    }
  }
}

inline int plane_threads(const DepthwiseShape& s, long planes) {
  const long work = planes * static_cast<long>(s.out_h()) * s.out_w() * s.kernel_h * s.kernel_w;
  const int t = threads_for(work, 1L << 15);
  return static_cast<int>(std::min<long>(t, std::max<long>(planes, 1)));
}

}  // namespace
}  // namespace sepnet::kernels::dw
