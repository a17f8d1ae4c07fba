#include "sepnet/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/profiler.h"

namespace sepnet::train {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int argmax_row(const float* row, int64_t cols) {
  int best = 0;
  for (int64_t k = 1; k < cols; ++k)
    if (row[k] > row[best]) best = static_cast<int>(k);
  return best;
}
// The first non-finite value of `tensors`, as "name[element] = value", or "" if all are finite.
std::string first_non_finite(const nn::NamedTensors& tensors, bool gradients) {
  for (const auto& [name, t] : tensors) {
    const Tensor v = gradients ? t.grad() : t;
    if (!v.defined()) continue;
    const float* p = v.data();
    const int64_t n = v.numel();
    float sum = 0;  // one pass; only a tensor with a non-finite sum is searched
    for (int64_t i = 0; i < n; ++i) sum += p[i] * 0.0f;
    if (std::isfinite(sum)) continue;
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return fmt::format("{}{}[{}] = {}", gradients ? "gradient of " : "", name, i, p[i]);
  }
  return "";
}

}  // namespace

void check_finite_state(const nn::Module& model, const std::string& when) {
  const std::string bad = first_non_finite(model.state_dict(), false);
  if (!bad.empty())
    throw DivergenceError("training diverged " + when + ": " + bad +
                          "; the model was not saved (the run directory keeps its last good epoch)");
}

bool is_known_loss(const std::string& kind) { return kind == "ce" || kind == "softmax-ce"; }

Tensor classification_loss(const std::string& kind, const Tensor& logits, const std::vector<int32_t>& labels) {
  if (kind == "ce") return ops::cross_entropy(logits, labels);
  if (kind == "softmax-ce") return ops::cross_entropy(ops::softmax(logits), labels);
  throw std::invalid_argument("unknown loss '" + kind + "' (known: ce, softmax-ce)");
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, std::vector<Tensor> params, float lr,
                                                 float momentum, float weight_decay) {
  if (name == "sgd")
    return std::make_unique<optim::Sgd>(std::move(params), optim::SgdOptions{lr, momentum, weight_decay});
  if (name == "adam")
    return std::make_unique<optim::Adam>(std::move(params),
                                         optim::AdamOptions{.lr = lr, .weight_decay = weight_decay});
  throw std::invalid_argument("unknown optimizer '" + name + "' (known: sgd, adam)");
}

EpochResult train_epoch(nn::Module& model, optim::Optimizer& optimizer, const data::ImageDataset& data,
                        const data::BatchSampler& sampler, const std::string& loss_kind, int epoch, int epochs,
                        const ProgressFn& progress) {
  model.train();
  EpochResult r;
  Tensor x;
  std::vector<int32_t> labels;
  double loss_sum = 0;
  int64_t seen = 0, correct = 0;
  const int64_t batches = sampler.num_batches();
  const auto start = Clock::now();
  auto last_report = start;
  for (int64_t b = 0; b < batches; ++b) {
    sampler.gather(b, data, x, labels);
    optimizer.zero_grad();
    Tensor logits = model.forward(x);
    Tensor loss;
    {
      profiler::Scope scope("loss", loss_kind);
      const auto t = Clock::now();
      loss = classification_loss(loss_kind, logits, labels);
      if (profiler::enabled()) profiler::add_forward(scope.id(), seconds_since(t), 0);
    }
    const int64_t n = static_cast<int64_t>(labels.size());
    for (int64_t i = 0; i < n; ++i)
      correct += argmax_row(logits.data() + i * logits.dim(1), logits.dim(1)) == labels[static_cast<size_t>(i)];
    const float loss_value = loss.item();
    if (!std::isfinite(loss_value))
      throw DivergenceError(fmt::format("training diverged at epoch {} batch {}/{}: the loss is {}; stopped, the run "
                                        "directory keeps its last good epoch (a smaller --lr may help)",
                                        epoch, b + 1, batches, loss_value));
    loss_sum += static_cast<double>(loss_value) * static_cast<double>(n);
    seen += n;
    loss.backward();
    if (const std::string bad = first_non_finite(model.named_parameters(), true); !bad.empty())
      throw DivergenceError(fmt::format("training diverged at epoch {} batch {}/{}: {}; stopped, the run directory "
                                        "keeps its last good epoch",
                                        epoch, b + 1, batches, bad));
    {
      profiler::Scope scope("optimizer", optimizer.name() + " step");
      const auto t = Clock::now();
      optimizer.step();
      if (profiler::enabled()) profiler::add_forward(scope.id(), seconds_since(t), 0);
    }
    if (progress && (b + 1 == batches || seconds_since(last_report) > 1.0)) {
      last_report = Clock::now();
      const double elapsed = seconds_since(start);
      const double ips = static_cast<double>(seen) / elapsed;
      progress({epoch, epochs, b + 1, batches, loss_sum / static_cast<double>(seen), ips,
                static_cast<double>(data.size() - seen) / ips});
    }
  }
  r.train_seconds = seconds_since(start);
  r.train_loss = loss_sum / static_cast<double>(seen);
  r.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
  r.images_per_second = static_cast<double>(seen) / r.train_seconds;
  return r;
}

Evaluation evaluate(nn::Module& model, const data::ImageDataset& data, int batch_size, bool keep_logits) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Evaluation e;
  data::BatchSampler sampler(data.size(), batch_size, 0, /*shuffle=*/false);
  Tensor x;
  std::vector<int32_t> labels;
  int64_t correct = 0;
  double loss_sum = 0;
  for (int64_t b = 0; b < sampler.num_batches(); ++b) {
    sampler.gather(b, data, x, labels);
    Tensor logits = model.forward(x);
    const int64_t n = logits.dim(0), classes = logits.dim(1);
    if (keep_logits) {
      if (!e.logits.defined()) e.logits = Tensor::empty({data.size(), classes});
      std::memcpy(e.logits.data() + b * batch_size * classes, logits.data(), static_cast<size_t>(n * classes) * sizeof(float));
    }
    loss_sum += static_cast<double>(ops::cross_entropy(logits, labels).item()) * static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const int predicted = argmax_row(logits.data() + i * classes, classes);
      const int truth = labels[static_cast<size_t>(i)];
      correct += predicted == truth;
      if (truth < 10 && predicted < 10) ++e.confusion[static_cast<size_t>(truth)][static_cast<size_t>(predicted)];
    }
  }
  e.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(data.size());
  e.loss = loss_sum / static_cast<double>(data.size());
  model.train(was_training);
  return e;
}

}  // namespace sepnet::train
