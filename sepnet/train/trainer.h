// The training loop and evaluation, shared by `sepnet train` and `sepnet compare`.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sepnet/core/data/dataset.h"
#include "sepnet/core/nn/module.h"
#include "sepnet/core/optim/optimizer.h"
#include "sepnet/train/communicator.h"

namespace sepnet::train {

// "ce": cross-entropy on the logits (log-softmax + NLL, the correct loss).
// "softmax-ce": cross-entropy on softmax(logits), the write-up's tutorial pattern
//               (loss = −log softmax(softmax(z))[y]); gradients shrink as the net gets confident.
Tensor classification_loss(const std::string& kind, const Tensor& logits, const std::vector<int32_t>& labels);
bool is_known_loss(const std::string& kind);

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params, float lr,
                                                 float momentum, float weight_decay);

// Training produced a non-finite loss, gradient or weight. The message names the epoch, the
// batch and the value; the run directory still holds the last good epoch.
class DivergenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws DivergenceError naming the first parameter or buffer of `model` holding a non-finite
// value; `when` says where training was ("after epoch 3").
void check_finite_state(const nn::Module& model, const std::string& when);

struct Progress {
  int epoch, epochs;
  int64_t batch, batches;
  double loss;            // running mean over the epoch so far
  double images_per_second;
  double eta_seconds;     // for the rest of this epoch
};
using ProgressFn = std::function<void(const Progress&)>;

struct EpochResult {
  double train_loss = 0, train_accuracy = 0;  // running over the epoch, in training mode
  double train_seconds = 0, images_per_second = 0;
};

// One pass over `data` in batches from `sampler` (already started for this epoch). Stops with
// DivergenceError at the first batch whose loss or any gradient is not finite. With a
// communicator of several ranks (data parallel), each rank takes its share of every batch and
// the gradients are summed over the ranks before the optimizer step, so every rank applies the
// same update that one process would apply to the whole batch.
EpochResult train_epoch(nn::Module& model, optim::Optimizer& optimizer, const data::ImageDataset& data,
                        const data::BatchSampler& sampler, const std::string& loss_kind, int epoch, int epochs,
                        const ProgressFn& progress = nullptr, Communicator* communicator = nullptr);

struct Evaluation {
  double accuracy = 0;  // percent
  double loss = 0;      // mean cross-entropy on the logits
  std::array<std::array<int64_t, 10>, 10> confusion{};  // [true][predicted], first 10 classes
  Tensor logits;  // [N, classes] when requested
};
// Batches of 256 keep evaluation's activations to a few MB (at batch 1000 the cnn's first im2col
// buffer alone takes 57 MB).
// With a communicator of several ranks, each evaluates a share and the results are summed.
Evaluation evaluate(nn::Module& model, const data::ImageDataset& data, int batch_size = 256, bool keep_logits = false,
                    Communicator* communicator = nullptr);

}  // namespace sepnet::train
