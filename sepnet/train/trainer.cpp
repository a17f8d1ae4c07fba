#include "sepnet/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

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

namespace {

// Data parallel: one step's gradients, weighted by each rank's share of the batch, summed over
// the ranks in one fused buffer together with the loss sum and correct count, and written back.
// Returns {loss sum, correct} over the whole batch. Every rank ends with the same gradients.
std::pair<double, int64_t> sum_over_ranks(const nn::NamedTensors& params, Communicator& comm, int64_t rows,
                                          int64_t batch_rows, double loss_sum, int64_t correct,
                                          std::vector<float>& fused) {
  int64_t total = 0;
  for (const auto& [name, p] : params) total += p.numel();
  fused.assign(static_cast<size_t>(total + 2), 0.0f);
  const float weight = static_cast<float>(rows) / static_cast<float>(batch_rows);
  int64_t at = 0;
  for (const auto& [name, p] : params) {
    const Tensor g = p.grad();
    if (g.defined() && rows > 0)
      for (int64_t i = 0; i < g.numel(); ++i) fused[static_cast<size_t>(at + i)] = g.data()[i] * weight;
    at += p.numel();
  }
  fused[static_cast<size_t>(total)] = static_cast<float>(loss_sum);
  fused[static_cast<size_t>(total + 1)] = static_cast<float>(correct);
  comm.sum(fused.data(), total + 2);
  at = 0;
  for (const auto& [name, p] : params) {
    std::memcpy(p.impl()->grad_data(), fused.data() + at, static_cast<size_t>(p.numel()) * sizeof(float));
    at += p.numel();
  }
  return {fused[static_cast<size_t>(total)], static_cast<int64_t>(fused[static_cast<size_t>(total + 1)])};
}

}  // namespace

EpochResult train_epoch(nn::Module& model, optim::Optimizer& optimizer, const data::ImageDataset& data,
                        const data::BatchSampler& sampler, const std::string& loss_kind, int epoch, int epochs,
                        const ProgressFn& progress, Communicator* communicator) {
  SingleProcess single;
  Communicator& comm = communicator != nullptr ? *communicator : single;
  const bool parallel = comm.size() > 1;
  const nn::NamedTensors params = model.named_parameters();
  model.train();
  EpochResult r;
  Tensor x;
  std::vector<int32_t> labels;
  std::vector<float> fused;
  double loss_sum = 0;
  int64_t seen = 0, correct = 0;
  const int64_t batches = sampler.num_batches();
  const auto start = Clock::now();
  auto last_report = start;
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t n = sampler.gather_share(b, data, x, labels, comm.rank(), comm.size());
    optimizer.zero_grad();
    double batch_loss_sum = 0;
    int64_t batch_correct = 0;
    if (n > 0) {
      Tensor logits = model.forward(x);
      Tensor loss;
      {
        profiler::Scope scope("loss", loss_kind);
        const auto t = Clock::now();
        loss = classification_loss(loss_kind, logits, labels);
        if (profiler::enabled()) profiler::add_forward(scope.id(), seconds_since(t), 0);
      }
      for (int64_t i = 0; i < n; ++i)
        batch_correct += argmax_row(logits.data() + i * logits.dim(1), logits.dim(1)) == labels[static_cast<size_t>(i)];
      const float loss_value = loss.item();
      if (!std::isfinite(loss_value) && !parallel)
        throw DivergenceError(fmt::format("training diverged at epoch {} batch {}/{}: the loss is {}; stopped, the "
                                          "run directory keeps its last good epoch (a smaller --lr may help)",
                                          epoch, b + 1, batches, loss_value));
      batch_loss_sum = static_cast<double>(loss_value) * static_cast<double>(n);
      loss.backward();
    }
    int64_t batch_rows = n;
    if (parallel) {
      profiler::Scope scope("allreduce", "gradient sum over " + std::to_string(comm.size()) + " ranks");
      const auto t = Clock::now();
      batch_rows = sampler.batch_rows(b);
      std::tie(batch_loss_sum, batch_correct) =
          sum_over_ranks(params, comm, n, batch_rows, batch_loss_sum, batch_correct, fused);
      if (profiler::enabled()) profiler::add_forward(scope.id(), seconds_since(t), 0);
      // Every rank sees the same sums, so every rank stops here together.
      if (!std::isfinite(batch_loss_sum))
        throw DivergenceError(fmt::format("training diverged at epoch {} batch {}/{}: the loss summed over {} ranks "
                                          "is {}; stopped, the run directory keeps its last good epoch",
                                          epoch, b + 1, batches, comm.size(), batch_loss_sum));
    }
    loss_sum += batch_loss_sum;
    correct += batch_correct;
    seen += batch_rows;
    if (const std::string bad = first_non_finite(params, true); !bad.empty())
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

Evaluation evaluate(nn::Module& model, const data::ImageDataset& data, int batch_size, bool keep_logits,
                    Communicator* communicator) {
  SingleProcess single;
  Communicator& comm = communicator != nullptr ? *communicator : single;
  if (keep_logits && comm.size() > 1) throw std::invalid_argument("evaluate: logits are kept by one process only");
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Evaluation e;
  // Each rank evaluates its contiguous share of the set; counts and loss sums are then summed.
  const int64_t lo = data.size() * comm.rank() / comm.size(), hi = data.size() * (comm.rank() + 1) / comm.size();
  Tensor x;
  std::vector<int32_t> labels;
  int64_t correct = 0;
  double loss_sum = 0;
  for (int64_t begin = lo; begin < hi; begin += batch_size) {
    const int64_t n = std::min<int64_t>(batch_size, hi - begin);
    const Shape want{n, data.channels, data.sample_rows(), data.sample_cols()};
    if (!x.defined() || x.shape() != want) x = Tensor::empty(want);
    labels.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      data.normalized_image(begin + i, x.data() + i * data.sample_elements());
      labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(begin + i)];
    }
    Tensor logits = model.forward(x);
    const int64_t classes = logits.dim(1);
    if (keep_logits) {
      if (!e.logits.defined()) e.logits = Tensor::empty({data.size(), classes});
      std::memcpy(e.logits.data() + begin * classes, logits.data(), static_cast<size_t>(n * classes) * sizeof(float));
    }
    loss_sum += static_cast<double>(ops::cross_entropy(logits, labels).item()) * static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const int predicted = argmax_row(logits.data() + i * classes, classes);
      const int truth = labels[static_cast<size_t>(i)];
      correct += predicted == truth;
      if (truth < 10 && predicted < 10) ++e.confusion[static_cast<size_t>(truth)][static_cast<size_t>(predicted)];
    }
  }
  if (comm.size() > 1) {
    std::vector<double> sums{static_cast<double>(correct), loss_sum};
    for (const auto& row : e.confusion)
      for (int64_t c : row) sums.push_back(static_cast<double>(c));
    comm.sum(sums.data(), static_cast<int64_t>(sums.size()));
    correct = static_cast<int64_t>(sums[0]);
    loss_sum = sums[1];
    size_t k = 2;
    for (auto& row : e.confusion)
      for (int64_t& c : row) c = static_cast<int64_t>(sums[k++]);
  }
  e.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(data.size());
  e.loss = loss_sum / static_cast<double>(data.size());
  model.train(was_training);
  return e;
}

}  // namespace sepnet::train
