#include "sepnet/infer/epilogue.h"

#include <algorithm>

#include "sepnet/kernels/parallel.h"

namespace sepnet::infer {

Epilogue epilogue_of(const Attributes& a) {
  Epilogue e;
  e.activation = a.activation;
  if (a.activation == Activation::relu) e.lo = 0.0f;
  if (a.activation == Activation::clip) { e.lo = a.clip_min; e.hi = a.clip_max; }
  return e;
}

namespace {
inline void finish(float* y, int64_t count, float b, const Epilogue& e) {
  switch (e.activation) {
    case Activation::none:
      for (int64_t i = 0; i < count; ++i) y[i] += b;
      break;
    case Activation::relu:
      for (int64_t i = 0; i < count; ++i) y[i] = std::max(y[i] + b, 0.0f);
      break;
    case Activation::clip:
      for (int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(y[i] + b, e.lo), e.hi);
      break;
  }
}
}  // namespace

void apply_rows(float* y, int64_t rows, int64_t channels, const float* bias, const Epilogue& e) {
  if (!bias && !e.active()) return;
  const int threads = kernels::threads_for(rows * channels, 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * channels;
    if (!bias) {
      finish(row, channels, 0.0f, e);
      continue;
    }
    switch (e.activation) {
      case Activation::none:
        for (int64_t c = 0; c < channels; ++c) row[c] += bias[c];
        break;
      case Activation::relu:
        for (int64_t c = 0; c < channels; ++c) row[c] = std::max(row[c] + bias[c], 0.0f);
        break;
      case Activation::clip:
        for (int64_t c = 0; c < channels; ++c) row[c] = std::min(std::max(row[c] + bias[c], e.lo), e.hi);
        break;
    }
  }
}

void apply_planes(float* y, int64_t planes, int64_t plane, int64_t channels, const float* bias, const Epilogue& e) {
  if (!bias && !e.active()) return;
  const int threads = kernels::threads_for(planes * plane, 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t p = 0; p < planes; ++p) finish(y + p * plane, plane, bias ? bias[p % channels] : 0.0f, e);
}

}  // namespace sepnet::infer
