#pragma once
// Reader for the IDX format used by MNIST / Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic 0x0000TTDD: TT = element type, DD = number of dimensions, then DD
// u32 sizes) followed by the raw elements. Files may be raw or gzip-compressed (detected by the
// 1f 8b magic, not by the file name). Only unsigned-byte elements (TT = 0x08) are supported.
// Every malformed input throws std::runtime_error naming the file and the problem.

#include <cstdint>
#include <string>
#include <vector>

namespace sepnet {

struct IdxImages {
  int count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major, image after image
};

struct IdxLabels {
  std::vector<uint8_t> labels;
};

// Magic 2051 (0x00000803): dims = count, rows, cols; all non-zero.
IdxImages read_idx_images(const std::string& path);

// Magic 2049 (0x00000801): dims = count; non-zero.
IdxLabels read_idx_labels(const std::string& path);

struct MnistSplit {
  IdxImages images;
  IdxLabels labels;
};

// Loads the training split (train-images-idx3-ubyte / train-labels-idx1-ubyte) or the test split
// (t10k-...) from `dir`, accepting each file with or without a ".gz" suffix (so both data/mnist/
// and Debian's /usr/share/datasets/fashion-mnist/ work). Checks that image and label counts match
// and that every label is in 0..9.
MnistSplit load_mnist_split(const std::string& dir, bool train);

}  // namespace sepnet
