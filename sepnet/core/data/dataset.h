// In-memory image classification data, and seeded mini-batching. Images stay as the file's bytes
// (a quarter of the memory of floats: MNIST's training set is 47 MB) and are resized and
// normalized when a batch is gathered: bilinearly resized to the model's input side when that
// differs from the stored one (resize.h), scaled to [0, 1], then shifted and scaled by the
// training set's mean and standard deviation. load_dataset computes those over every pixel of
// the split it reads, rounded to 4 decimals: MNIST gives the constants every PyTorch MNIST
// example uses (0.1307, 0.3081), Fashion-MNIST its usual (0.2860, 0.3530).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sepnet/core/data/idx.h"
#include "sepnet/core/data/resize.h"
#include "sepnet/core/random.h"
#include "sepnet/core/tensor.h"

namespace sepnet::data {

constexpr float kMnistMean = 0.1307f;
constexpr float kMnistStd = 0.3081f;

struct ImageDataset {
  std::vector<uint8_t> pixels;  // N images of channels × rows × cols bytes, one after another
  std::vector<int32_t> labels;
  int64_t channels = 1, rows = 0, cols = 0;
  float mean = kMnistMean, stddev = kMnistStd;
  std::string source;  // where the images came from, for error messages ("" if built in memory)

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_elements() const { return channels * rows * cols; }  // stored bytes per image
  Shape image_shape() const { return {channels, rows, cols}; }
  // What a model sees: the stored image, or its resized copy after resize_to(side).
  int64_t sample_rows() const { return resize_ ? resize_->out_rows() : rows; }
  int64_t sample_cols() const { return resize_ ? resize_->out_cols() : cols; }
  int64_t sample_elements() const { return channels * sample_rows() * sample_cols(); }
  Shape sample_shape() const { return {channels, sample_rows(), sample_cols()}; }
  // Images are resized to side × side when gathered (bilinear, resize.h); the stored side
  // turns the resizing off.
  void resize_to(int64_t side);
  // Writes image i, resized and normalized, as sample_elements() floats.
  void normalized_image(int64_t i, float* out) const;
  // All images resized and normalized, [N, C, H', W'] (for evaluation code that wants one tensor).
  Tensor normalized_images() const;

 private:
  std::shared_ptr<const BilinearResize> resize_;  // null: images are used at their stored size
};

// Mean and standard deviation of all pixels scaled to [0, 1], each rounded to 4 decimals (the
// precision of the published constants); a blank set (standard deviation 0) gets 1.
std::pair<float, float> pixel_statistics(const std::vector<uint8_t>& pixels);

// max_count < 0 keeps every image; otherwise the first max_count. The rvalue form takes the
// split's pixel buffer over instead of copying it.
ImageDataset to_dataset(const MnistSplit& split, int64_t max_count = -1, float mean = kMnistMean,
                        float stddev = kMnistStd);
ImageDataset to_dataset(MnistSplit&& split, int64_t max_count = -1, float mean = kMnistMean, float stddev = kMnistStd);
// The split's mean and standard deviation come from pixel_statistics over every image of the
// split (before max_count keeps the first ones); a test set is normalized with its training
// set's, which the caller copies over.
ImageDataset load_dataset(const std::string& dir, bool train, int64_t max_count = -1);

// Batches over a dataset; reshuffled at each epoch from (seed, epoch), so any epoch's order
// can be reproduced (and resumed) without replaying the earlier ones. The last batch may be
// smaller (PyTorch's drop_last = False).
class BatchSampler {
 public:
  BatchSampler(int64_t count, int batch_size, uint64_t seed, bool shuffle);
  void start_epoch(int epoch);
  int64_t num_batches() const { return (count_ + batch_size_ - 1) / batch_size_; }
  // Images in batch b (batch_size, or fewer for the last).
  int64_t batch_rows(int64_t b) const;
  // Writes batch b of the current epoch, resized and normalized, into x [B, C, H', W'] and labels.
  void gather(int64_t b, const ImageDataset& data, Tensor& x, std::vector<int32_t>& labels) const {
    gather_share(b, data, x, labels, 0, 1);
  }
  // Data-parallel training: the contiguous share `rank` of `ranks` of batch b (rows
  // [n·rank/ranks, n·(rank+1)/ranks) of its n), so the ranks together see exactly batch b.
  // Returns the share's size, which is 0 (x left as is) when a short last batch has no rows here.
  int64_t gather_share(int64_t b, const ImageDataset& data, Tensor& x, std::vector<int32_t>& labels, int rank,
                       int ranks) const;

 private:
  int64_t count_;
  int batch_size_;
  uint64_t seed_;
  bool shuffle_;
  std::vector<int32_t> order_;
};

}  // namespace sepnet::data
