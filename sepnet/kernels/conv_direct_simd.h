// Internal: the one SIMD body of the direct convolution kernels, a template on the vector type
// B (xsimd::batch<float, Arch>, or the 1-lane scalar_simd::Lane). Included only by the per-ISA
// translation units; everything is in an anonymous namespace so no function compiled with one
// ISA's flags can be linked into another's path.
//
// Design:
//  * Each image is copied into a per-thread zero-bordered buffer (C_in planes, row stride
//    `wrow` wide enough that a row's last vector may over-read: its extra lanes are dropped).
//  * Forward: for each output row, a register tile of CB output channels × NV row vectors;
//    per tap (c, ky, kx) the NV input vectors are loaded once and multiplied by CB broadcast
//    weights (packed [c][ky][kx][o] so a tap's weights are adjacent). CB and NV are template
//    parameters picked per layer so the tile fills the register file.
//  * Backward-input is the forward kernel on grad_output padded by K-1-pad with the flipped,
//    transposed filters, accumulating into grad_input.
//  * Backward-weight: per (c, ky) and block of 2 output channels × up to 6 kx taps, vector
//    accumulators over the image's rows (grad_output rows copied with zeroed tail lanes so
//    over-read lanes add nothing); per-thread vector sums, reduced in thread order at the end
//    (deterministic for a fixed thread count).
#pragma once
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_hsum.h"
#include "sepnet/kernels/simd_lane_ops.h"

namespace sepnet::kernels::direct {
namespace {

// Geometry with separate paddings (backward-input pads by K-1-pad in each dimension).
struct Geometry {
  int cin, h, w, cout, kh, kw, ph, pw;
  int oh() const { return h + 2 * ph - kh + 1; }
  int ow() const { return w + 2 * pw - kw + 1; }
};

template <class B>
constexpr int max_accumulators() {  // vector accumulators that leave room for inputs + weight
  return B::size >= 16 ? 24 : (B::size >= 8 ? 12 : 8);
}
constexpr int kMaxStripVectors = 4;
constexpr int kMaxChannelBlock = 8;
constexpr int kMaxTapBlock = 6;

template <class B>
int row_vectors(int ow) {
  return (ow + static_cast<int>(B::size) - 1) / static_cast<int>(B::size);
}

struct PaddedImage {
  int rows = 0, wrow = 0, ph = 0, pw = 0, h = 0, w = 0, channels = 0;
  long plane = 0;
  std::vector<float> buf;  // zeroed once; only the interior is rewritten per image
};

// tight: rows exactly w + 2·pw wide (the flat weight-gradient walk below), with slack after
// the last plane for its over-read; otherwise wide enough for whole row vectors.
template <class B>
PaddedImage make_padded(const Geometry& g, int images = 1, bool tight = false) {
  PaddedImage p;
  p.rows = g.h + 2 * g.ph;
  p.wrow = tight ? g.w + 2 * g.pw
                 : std::max(g.w + 2 * g.pw, row_vectors<B>(g.ow()) * static_cast<int>(B::size) + g.kw - 1);
  p.ph = g.ph, p.pw = g.pw, p.h = g.h, p.w = g.w, p.channels = g.cin * images;
  p.plane = static_cast<long>(p.rows) * p.wrow;
  p.buf.assign(static_cast<std::size_t>(p.channels * p.plane + 2 * B::size + g.kw), 0.0f);
  return p;
}

// Copies `p.channels` consecutive input planes (one image, or several images' channels in a row).
inline void fill_padded(const float* planes, PaddedImage& p) {
  for (int c = 0; c < p.channels; ++c)
    for (int y = 0; y < p.h; ++y) {
      const float* src = planes + (static_cast<long>(c) * p.h + y) * p.w;
      float* dst = p.buf.data() + c * p.plane + static_cast<long>(y + p.ph) * p.wrow + p.pw;
      for (int x = 0; x < p.w; ++x) dst[x] = src[x];
    }
}

// ---- forward ----------------------------------------------------------------------------

// The first `lanes` lanes of r to dst (= or +=); a partial vector goes through a buffer.
template <class B>
void store_output(B r, float* dst, int lanes, bool accumulate) {
  constexpr int V = static_cast<int>(B::size);
  if (lanes == V) {
    if (accumulate) r += B::load_unaligned(dst);
    r.store_unaligned(dst);
    return;
  }
  alignas(64) float tmp[V];
  r.store_unaligned(tmp);
  for (int i = 0; i < lanes; ++i) dst[i] = accumulate ? dst[i] + tmp[i] : tmp[i];
}

template <class B, int NV, int CB, int RT>
void forward_strip(const Geometry& g, const PaddedImage& p, const float* wpack, int oy, int x0, int co0,
                   const float* bias, bool accumulate, float* out) {
  constexpr int V = static_cast<int>(B::size);
  const int oh = g.oh();
  B acc[CB][RT][NV];
  for (int cb = 0; cb < CB; ++cb)
    for (int r = 0; r < RT; ++r)
      for (int v = 0; v < NV; ++v) acc[cb][r][v] = B(0.0f);
  // RT output rows per tile when CB × NV alone leaves accumulators free (few channels, narrow
  // rows): more independent FMA chains per loaded weight. Rows past oh re-read row oy and
  // are not stored.
  long row_off[RT];
  for (int r = 0; r < RT; ++r) row_off[r] = oy + r < oh ? r * p.wrow : 0;
  const float* in0 = p.buf.data() + static_cast<long>(oy) * p.wrow + x0;
  // Taps on all-zero padding rows add nothing: skip them (a third of the backward-input work
  // at 5×5, whose grad_output is padded by 4).
  const int last = std::min(oy + RT, oh) - 1;
  const int ky_lo = std::max(0, p.ph - last), ky_hi = std::min(g.kh, p.ph + p.h - oy);
  for (int c = 0; c < g.cin; ++c)
    for (int ky = ky_lo; ky < ky_hi; ++ky) {
      const float* row = in0 + c * p.plane + static_cast<long>(ky) * p.wrow;
      const float* wk = wpack + static_cast<long>((c * g.kh + ky) * g.kw) * g.cout + co0;
      for (int kx = 0; kx < g.kw; ++kx, wk += g.cout) {
        B x[RT][NV];
        for (int r = 0; r < RT; ++r)
          for (int v = 0; v < NV; ++v) x[r][v] = B::load_unaligned(row + row_off[r] + kx + v * V);
        for (int cb = 0; cb < CB; ++cb) {
          const B wv(wk[cb]);
          for (int r = 0; r < RT; ++r)
            for (int v = 0; v < NV; ++v) acc[cb][r][v] = fma(x[r][v], wv, acc[cb][r][v]);
        }
      }
    }
  const int ow = g.ow();
  const long out_plane = static_cast<long>(oh) * ow;
  for (int cb = 0; cb < CB; ++cb) {
    const B b(bias ? bias[co0 + cb] : 0.0f);
    for (int r = 0; r < RT && oy + r < oh; ++r) {
      float* dst = out + (co0 + cb) * out_plane + static_cast<long>(oy + r) * ow + x0;
      for (int v = 0; v < NV; ++v) store_output(acc[cb][r][v] + b, dst + v * V, std::min(V, ow - x0 - v * V), accumulate);
    }
  }
}

// Output rows exactly half a vector wide (8 outputs with 16 lanes, the MNIST 6→16 conv on
// AVX-512): one vector covers output rows oy and oy + 1, which are contiguous in the output
// plane, and its input per tap is two half-vector loads (LaneOps::load_halves). NP row pairs
// × CB output channels per tile. Without it such rows leave half of every vector empty.
template <class B, int NP, int CB>
void forward_pair_strip(const Geometry& g, const PaddedImage& p, const float* wpack, int oy, int co0,
                        const float* bias, bool accumulate, float* out) {
  constexpr int V = static_cast<int>(B::size);
  const int oh = g.oh();
  B acc[CB][NP];
  for (int cb = 0; cb < CB; ++cb)
    for (int q = 0; q < NP; ++q) acc[cb][q] = B(0.0f);
  // Second row of each pair; a missing one (odd oh) reads the first again and is not stored.
  long second[NP];
  for (int q = 0; q < NP; ++q) second[q] = oy + 2 * q + 1 < oh ? p.wrow : 0;
  const float* in0 = p.buf.data() + static_cast<long>(oy) * p.wrow;
  for (int c = 0; c < g.cin; ++c)
    for (int ky = 0; ky < g.kh; ++ky) {
      const float* row = in0 + c * p.plane + static_cast<long>(ky) * p.wrow;
      const float* wk = wpack + static_cast<long>((c * g.kh + ky) * g.kw) * g.cout + co0;
      for (int kx = 0; kx < g.kw; ++kx, wk += g.cout) {
        B x[NP];
        for (int q = 0; q < NP; ++q) {
          const float* r = row + 2L * q * p.wrow + kx;
          x[q] = LaneOps<B>::load_halves(r, r + second[q]);
        }
        for (int cb = 0; cb < CB; ++cb) {
          const B wv(wk[cb]);
          for (int q = 0; q < NP; ++q) acc[cb][q] = fma(x[q], wv, acc[cb][q]);
        }
      }
    }
  const long out_plane = static_cast<long>(oh) * g.ow();
  for (int cb = 0; cb < CB; ++cb) {
    const B b(bias ? bias[co0 + cb] : 0.0f);
    for (int q = 0; q < NP; ++q) {
      float* dst = out + (co0 + cb) * out_plane + static_cast<long>(oy + 2 * q) * g.ow();
      store_output(acc[cb][q] + b, dst, second[q] != 0 ? V : V / 2, accumulate);
    }
  }
}

template <class B>
using PairStripFn = void (*)(const Geometry&, const PaddedImage&, const float*, int, int, const float*, bool,
                             float*);
template <class B, int NP, int... I>
constexpr std::array<PairStripFn<B>, sizeof...(I)> pair_strips_for(std::integer_sequence<int, I...>) {
  return {&forward_pair_strip<B, NP, I + 1>...};
}
template <class B>
PairStripFn<B> pick_pair_strip(int np, int cb) {
  using Seq = std::make_integer_sequence<int, kMaxChannelBlock>;
  static constexpr std::array<std::array<PairStripFn<B>, kMaxChannelBlock>, 2> table = {
      pair_strips_for<B, 1>(Seq{}), pair_strips_for<B, 2>(Seq{})};
  return table[np - 1][cb - 1];
}

template <class B>
using StripFn = void (*)(const Geometry&, const PaddedImage&, const float*, int, int, int, const float*, bool, float*);

constexpr int kMaxTileRows = 3;
template <class B, int NV, int RT, int... I>
constexpr std::array<StripFn<B>, sizeof...(I)> strips_for(std::integer_sequence<int, I...>) {
  return {&forward_strip<B, NV, I + 1, RT>...};
}
template <class B, int RT>
constexpr std::array<std::array<StripFn<B>, kMaxChannelBlock>, kMaxStripVectors> strip_table() {
  using Seq = std::make_integer_sequence<int, kMaxChannelBlock>;
  return {strips_for<B, 1, RT>(Seq{}), strips_for<B, 2, RT>(Seq{}), strips_for<B, 3, RT>(Seq{}),
          strips_for<B, 4, RT>(Seq{})};
}
template <class B>
StripFn<B> pick_strip(int nv, int cb, int rt) {
  static constexpr std::array<std::array<std::array<StripFn<B>, kMaxChannelBlock>, kMaxStripVectors>, kMaxTileRows>
      table = {strip_table<B, 1>(), strip_table<B, 2>(), strip_table<B, 3>()};
  return table[rt - 1][nv - 1][cb - 1];
}

template <class B>
void forward_image(const Geometry& g, PaddedImage& p, const float* image, const float* wpack, const float* bias,
                   bool accumulate, float* out) {
  constexpr int V = static_cast<int>(B::size);
  fill_padded(image, p);
  if (V > 1 && 2 * g.ow() == V) {
    // Two row pairs × 8 channels = 16 accumulators (24 zmm budget, two x vectors + a weight).
    for (int oy = 0; oy < g.oh(); oy += 4) {
      const int np = g.oh() - oy > 2 ? 2 : 1;
      const int blocks = (g.cout + kMaxChannelBlock - 1) / kMaxChannelBlock;
      const int cb = (g.cout + blocks - 1) / blocks;
      for (int co0 = 0; co0 < g.cout; co0 += cb)
        pick_pair_strip<B>(np, std::min(cb, g.cout - co0))(g, p, wpack, oy, co0, bias, accumulate, out);
    }
    return;
  }
  const int nvec = row_vectors<B>(g.ow());
  // Tile rows: as many as the accumulator budget leaves after one row's CB × NV block (the
  // same for every column block of a row, so rows advance together).
  const int nv_first = std::min(kMaxStripVectors, nvec);
  const int cb_used = std::min(std::clamp(max_accumulators<B>() / nv_first, 1, kMaxChannelBlock), g.cout);
  // Only when one row's block has fewer than 8 accumulators (2 FMA pipes × 4 cycles of latency
  // need 8 independent chains): measured 1.1–1.5× faster there (the MNIST convs' input
  // gradients, 6→6 forward on AVX2), and 15 % slower for a 12-accumulator block made 24.
  const int row_block = cb_used * nv_first;
  const int rt = row_block < 8 ? std::clamp(max_accumulators<B>() / row_block, 1, kMaxTileRows) : 1;
  for (int oy = 0; oy < g.oh(); oy += rt)
    for (int v0 = 0; v0 < nvec; v0 += kMaxStripVectors) {
      const int nv = std::min(kMaxStripVectors, nvec - v0);
      // Equal channel blocks (16 = 8 + 8, not 12 + 4) within the accumulator budget.
      const int cb_max = std::clamp(max_accumulators<B>() / (nv * rt), 1, kMaxChannelBlock);
      const int blocks = (g.cout + cb_max - 1) / cb_max;
      const int cb = (g.cout + blocks - 1) / blocks;
      for (int co0 = 0; co0 < g.cout; co0 += cb)
        pick_strip<B>(nv, std::min(cb, g.cout - co0), rt)(g, p, wpack, oy, v0 * V, co0, bias, accumulate, out);
    }
}

// Images split across threads (disjoint outputs).
template <class B>
void run_forward(const Geometry& g, int batch, const float* input, const float* wpack, const float* bias,
                 bool accumulate, float* output) {
  const long in_image = static_cast<long>(g.cin) * g.h * g.w;
  const long out_image = static_cast<long>(g.cout) * g.oh() * g.ow();
  const long macs = out_image * g.cin * g.kh * g.kw;
  const int threads = static_cast<int>(std::min<long>(threads_for(batch * macs, 1L << 18), batch));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    PaddedImage p = make_padded<B>(g);
#pragma omp for schedule(static)
    for (int n = 0; n < batch; ++n)
      forward_image<B>(g, p, input + n * in_image, wpack, bias, accumulate, output + n * out_image);
  }
}

template <class B>
void forward_impl(const DirectConvShape& s, const float* input, const float* weight, const float* bias,
                  float* output) {
  const Geometry g{s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h, s.kernel_w, s.pad, s.pad};
  if (s.batch <= 0 || g.oh() <= 0 || g.ow() <= 0) return;
  std::vector<float> wpack(static_cast<std::size_t>(g.cout) * g.cin * g.kh * g.kw);
  for (int o = 0; o < g.cout; ++o)
    for (int c = 0; c < g.cin; ++c)
      for (int t = 0; t < g.kh * g.kw; ++t)
        wpack[static_cast<std::size_t>(c * g.kh * g.kw + t) * g.cout + o] = weight[(o * g.cin + c) * g.kh * g.kw + t];
  run_forward<B>(g, s.batch, input, wpack.data(), bias, false, output);
}

template <class B>
void backward_input_impl(const DirectConvShape& s, const float* grad_output, const float* weight,
                         float* grad_input, bool accumulate) {
  // grad_input = stride-1 conv of grad_output padded by K-1-pad, C_out -> C_in channels,
  // filter w'[c][o][ky][kx] = w[o][c][KH-1-ky][KW-1-kx].
  const Geometry g{s.out_channels, s.out_h(), s.out_w(), s.in_channels, s.kernel_h, s.kernel_w,
                   s.kernel_h - 1 - s.pad, s.kernel_w - 1 - s.pad};
  if (s.batch <= 0 || g.h <= 0 || g.w <= 0) return;
  const int taps = g.kh * g.kw;
  std::vector<float> wpack(static_cast<std::size_t>(s.out_channels) * s.in_channels * taps);
  for (int o = 0; o < s.out_channels; ++o)
    for (int c = 0; c < s.in_channels; ++c)
      for (int t = 0; t < taps; ++t)  // packed [o][ky][kx][c]; flipped tap = taps-1-t
        wpack[static_cast<std::size_t>(o * taps + t) * s.in_channels + c] = weight[(o * s.in_channels + c) * taps + taps - 1 - t];
  run_forward<B>(g, s.batch, grad_output, wpack.data(), nullptr, accumulate, grad_input);
}

// ---- backward weight --------------------------------------------------------------------

// vsum[(o·C_in + c)·KH·KW + ky·KW + kx] (vectors) += Σ_images Σ_rows grad_out[o] · input[c]
// shifted by (ky, kx), for CB output channels o0.. and KB taps kx0.., over `images` images.
template <class B, int CB, int KB>
void weight_tile(const float* x0, long wrow, long x_image, const float* dy0, long dy_plane, long dy_row,
                 long dy_image, int images, int oh, int nvec, B* vsum, long vsum_channel_stride) {
  constexpr int V = static_cast<int>(B::size);
  B acc[CB][KB];
  for (int cb = 0; cb < CB; ++cb)
    for (int k = 0; k < KB; ++k) acc[cb][k] = B(0.0f);
  for (int i = 0; i < images; ++i)
    for (int oy = 0; oy < oh; ++oy) {
      const float* xr = x0 + i * x_image + oy * wrow;
      const float* dr = dy0 + i * dy_image + oy * dy_row;
      for (int v = 0; v < nvec; ++v) {
        B d[CB];
        for (int cb = 0; cb < CB; ++cb) d[cb] = B::load_unaligned(dr + cb * dy_plane + v * V);
        for (int k = 0; k < KB; ++k) {
          const B x = B::load_unaligned(xr + v * V + k);
          for (int cb = 0; cb < CB; ++cb) acc[cb][k] = fma(d[cb], x, acc[cb][k]);
        }
      }
    }
  for (int cb = 0; cb < CB; ++cb)
    for (int k = 0; k < KB; ++k) vsum[cb * vsum_channel_stride + k] += acc[cb][k];
}

// Rows half a vector wide (see forward_pair_strip): grad_output planes are kept compact (row
// stride ow, an odd last row followed by a zero row), so one vector load covers output rows
// oy and oy + 1, and the input is two half-vector loads per tap.
template <class B, int CB, int KB>
void weight_pair_tile(const float* x0, long wrow, long x_image, const float* dy0, long dy_plane, long dy_row,
                      long dy_image, int images, int oh, int, B* vsum, long vsum_channel_stride) {
  B acc[CB][KB];
  for (int cb = 0; cb < CB; ++cb)
    for (int k = 0; k < KB; ++k) acc[cb][k] = B(0.0f);
  for (int i = 0; i < images; ++i)
    for (int oy = 0; oy < oh; oy += 2) {
      const float* xr = x0 + i * x_image + oy * wrow;
      const long second = oy + 1 < oh ? wrow : 0;  // its grad row is the zero row
      const float* dr = dy0 + i * dy_image + oy * dy_row;
      B d[CB];
      for (int cb = 0; cb < CB; ++cb) d[cb] = B::load_unaligned(dr + cb * dy_plane);
      for (int k = 0; k < KB; ++k) {
        const B x = LaneOps<B>::load_halves(xr + k, xr + second + k);
        for (int cb = 0; cb < CB; ++cb) acc[cb][k] = fma(d[cb], x, acc[cb][k]);
      }
    }
  for (int cb = 0; cb < CB; ++cb)
    for (int k = 0; k < KB; ++k) vsum[cb * vsum_channel_stride + k] += acc[cb][k];
}

template <class B>
using WeightTileFn = void (*)(const float*, long, long, const float*, long, long, long, int, int, int, B*, long);

template <class B, int CB, int... I>
constexpr std::array<WeightTileFn<B>, sizeof...(I)> weight_pair_tiles_for(std::integer_sequence<int, I...>) {
  return {&weight_pair_tile<B, CB, I + 1>...};
}

template <class B, int CB, int... I>
constexpr std::array<WeightTileFn<B>, sizeof...(I)> weight_tiles_for(std::integer_sequence<int, I...>) {
  return {&weight_tile<B, CB, I + 1>...};
}

template <class B>
WeightTileFn<B> pick_weight_tile(int cb, int kb, bool pairs) {
  using Seq = std::make_integer_sequence<int, kMaxTapBlock>;
  static constexpr std::array<std::array<WeightTileFn<B>, kMaxTapBlock>, 2> table = {
      weight_tiles_for<B, 1>(Seq{}), weight_tiles_for<B, 2>(Seq{})};
  static constexpr std::array<std::array<WeightTileFn<B>, kMaxTapBlock>, 2> pair_table = {
      weight_pair_tiles_for<B, 1>(Seq{}), weight_pair_tiles_for<B, 2>(Seq{})};
  return pairs ? pair_table[cb - 1][kb - 1] : table[cb - 1][kb - 1];
}

template <class B>
void backward_weight_impl(const DirectConvShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias) {
  constexpr int V = static_cast<int>(B::size);
  const Geometry g{s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h, s.kernel_w, s.pad, s.pad};
  const int oh = g.oh(), ow = g.ow();
  if (s.batch <= 0 || oh <= 0 || ow <= 0) return;
  const int nvec = row_vectors<B>(ow), taps = g.kh * g.kw;
  const bool pairs = V > 1 && 2 * ow == V;  // weight_pair_tile: compact grad rows
  // Flat walk: when whole row vectors waste more lanes than the padded input row does (24-wide
  // rows: 2 × 16 lanes vs 28), grad rows are stored wrow apart with zeros in the wrow − ow extra
  // columns, and every tap gradient is one dot product over the flat plane: the grad plane
  // against the input planes shifted by ky·wrow + kx (the zeros cancel the columns that wrap).
  const int tight_wrow = g.w + 2 * g.pw;
  const bool flat = V > 1 && !pairs && tight_wrow < nvec * V;
  const long dy_row = pairs ? ow : flat ? tight_wrow : static_cast<long>(nvec) * V;
  const int flat_vectors = static_cast<int>((static_cast<long>(oh) * tight_wrow + V - 1) / V);
  const long dy_plane = pairs ? dy_row * (oh + oh % 2) : flat ? static_cast<long>(flat_vectors) * V : dy_row * oh;
  const long in_image = static_cast<long>(g.cin) * g.h * g.w, out_plane = static_cast<long>(oh) * ow;
  const long weights = static_cast<long>(g.cout) * g.cin * taps;
  const long macs = out_plane * g.cout * g.cin * taps;
  const int threads = static_cast<int>(std::min<long>(threads_for(s.batch * macs, 1L << 18), s.batch));
  std::vector<std::vector<float>> partial_w(threads), partial_b(threads);
  // Images in chunks: each tile then runs over chunk·OH rows, which amortizes its set-up and
  // its accumulator spill (tiny planes have only 8 rows per image).
  constexpr int kChunk = 8;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int n_begin = static_cast<int>(static_cast<long>(s.batch) * t / nt);
    const int n_end = static_cast<int>(static_cast<long>(s.batch) * (t + 1) / nt);
    PaddedImage p = make_padded<B>(g, kChunk, flat);
    const long x_image = static_cast<long>(g.cin) * p.plane, dy_image = static_cast<long>(g.cout) * dy_plane;
    std::vector<float> dys(static_cast<std::size_t>(kChunk * dy_image), 0.0f);  // tails stay zero
    std::vector<B> vsum(static_cast<std::size_t>(weights), B(0.0f));
    std::vector<B> bias_sum(g.cout, B(0.0f));
    for (int n0 = n_begin; n0 < n_end; n0 += kChunk) {
      const int nb = std::min(kChunk, n_end - n0);
      p.channels = nb * g.cin;
      fill_padded(input + n0 * in_image, p);
      for (int i = 0; i < nb; ++i) {
        const float* gy = grad_output + (n0 + i) * out_plane * g.cout;
        // Rows dy_row apart; padding columns, tails and an odd pair's extra row stay zero.
        for (int o = 0; o < g.cout; ++o) {
          float* dst = dys.data() + i * dy_image + o * dy_plane;
          for (int y = 0; y < oh; ++y)
            std::copy(gy + o * out_plane + static_cast<long>(y) * ow,
                      gy + o * out_plane + static_cast<long>(y + 1) * ow, dst + y * dy_row);
          // Bias gradient in vector lanes (the zeros add nothing): a scalar running sum is one
          // dependent add per element and was the bottleneck of 1×1 layers.
          for (long v = 0; v < dy_plane; v += V) bias_sum[o] += B::load_unaligned(dst + v);
        }
      }
      for (int c = 0; c < g.cin; ++c)
        for (int ky = 0; ky < g.kh; ++ky)
          for (int o0 = 0; o0 < g.cout; o0 += 2) {
            const int cb = std::min(2, g.cout - o0);
            for (int kx0 = 0; kx0 < g.kw; kx0 += kMaxTapBlock) {
              const int kb = std::min(kMaxTapBlock, g.kw - kx0);
              pick_weight_tile<B>(cb, kb, pairs)(p.buf.data() + c * p.plane + static_cast<long>(ky) * p.wrow + kx0, p.wrow,
                                          x_image, dys.data() + o0 * dy_plane, dy_plane, dy_row, dy_image, nb,
                                          flat ? 1 : oh, flat ? flat_vectors : nvec, vsum.data() + (static_cast<long>(o0) * g.cin + c) * taps + ky * g.kw + kx0,
                                          static_cast<long>(g.cin) * taps);
            }
          }
    }
    partial_w[t].resize(weights);
    for (long i = 0; i < weights; ++i) partial_w[t][i] = hsum(vsum[i]);
    partial_b[t].resize(g.cout);
    for (int o = 0; o < g.cout; ++o) partial_b[t][o] = hsum(bias_sum[o]);
  }
  for (int t = 0; t < threads; ++t) {
    if (partial_w[t].empty()) continue;  // the runtime gave fewer threads
    if (grad_weight)
      for (long i = 0; i < weights; ++i) grad_weight[i] += partial_w[t][i];
    if (grad_bias)
      for (int o = 0; o < g.cout; ++o) grad_bias[o] += partial_b[t][o];
  }
}

}  // namespace
}  // namespace sepnet::kernels::direct
