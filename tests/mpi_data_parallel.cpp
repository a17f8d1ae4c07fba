// Data-parallel training over MPI, checked from inside the job (run with 2 ranks by
// tests/mpi_run.sh): every rank ends with bit-identical parameters, and 2 ranks sharing a global
// batch of 2B follow the same trajectory as 1 process with batch 2B (no batch norm, whose
// per-rank statistics differ by design) to within 1e-5 relative. Exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <cstdio>
#include <vector>

#include "quadrant_data.h"
#include "sepnet/dist/mpi_communicator.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/recipe.h"

using namespace sepnet;

namespace {

std::vector<float> flat_parameters(const nn::Module& model) {
  std::vector<float> v;
  for (const auto& [name, t] : model.named_parameters()) v.insert(v.end(), t.data(), t.data() + t.numel());
  return v;
}

train::RunConfig config(const std::string& model, bool batch_norm, train::Communicator* comm) {
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("seed"));
  c.model.name = model;
  c.model.batch_norm = batch_norm;
  c.loss = "ce";
  c.batch = 32;
  c.epochs = 2;
  c.threads = 1;
  c.communicator = comm;
  return c;
}

// Trains with the trainer's epoch loop and returns the final parameters.
std::vector<float> train_state(const train::RunConfig& c, const data::ImageDataset& data) {
  const models::ModelSpec spec = train::spec_for_data(c.model, data, "test data");
  Rng rng(c.seed);
  auto model = models::build_model(spec, rng);
  auto opt = train::make_optimizer(c.optimizer, model->parameters(), c.lr, c.momentum, c.weight_decay);
  data::BatchSampler sampler(data.size(), c.batch, c.seed, true);
  for (int epoch = 1; epoch <= c.epochs; ++epoch) {
    sampler.start_epoch(epoch);
    train::train_epoch(*model, *opt, data, sampler, c.loss, epoch, c.epochs, nullptr, c.communicator);
  }
  return flat_parameters(*model);
}

}  // namespace

int main() {
  dist::MpiCommunicator comm;
  int failures = 0;
  auto report = [&](bool ok, const char* what, double value) {
    if (comm.rank() == 0) std::printf("%s: %s (%g)\n", ok ? "ok" : "FAIL", what, value);
    failures += !ok;
  };
  const auto data = testing::quadrants(100, 1);  // 100 = 3 full batches of 32 and a last one of 4

  // 1. Replicas stay bit-identical: gradients are summed into the same bits on every rank, so
  //    every update is identical (batch-norm running statistics are per rank until run_training
  //    broadcasts rank 0's at the end of an epoch; parameters are compared here).
  for (const char* model : {"cnn", "dwsep"}) {
    std::vector<float> mine = train_state(config(model, true, &comm), data);
    std::vector<float> root = mine;
    comm.broadcast(root.data(), static_cast<int64_t>(root.size()), 0);
    double differing = 0;
    for (size_t i = 0; i < mine.size(); ++i) differing += std::memcmp(&mine[i], &root[i], sizeof(float)) != 0;
    comm.sum(&differing, 1);
    report(differing == 0, (std::string(model) + "+BN: parameters bit-identical on both ranks (values differing)").c_str(),
           differing);
  }

  // 2. 2 ranks × batch 16 == 1 process × batch 32 (no BN), to 1e-5 relative.
  for (const char* model : {"cnn", "dwsep"}) {
    const std::vector<float> parallel = train_state(config(model, false, &comm), data);
    train::SingleProcess one;
    const std::vector<float> single = train_state(config(model, false, &one), data);
    double worst = 0;
    for (size_t i = 0; i < parallel.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(parallel[i]) - single[i]) /
                                  std::max(1e-3, std::abs(static_cast<double>(single[i]))));
    comm.sum(&worst, 1);  // any rank's deviation counts
    report(worst <= 1e-5, (std::string(model) + ": 2 ranks x batch 16 match 1 process x batch 32 (max rel. diff)").c_str(),
           worst);
  }
  if (comm.rank() == 0) std::printf("mpi_data_parallel: %d failed on %d ranks\n", failures, comm.size());
  return failures == 0 ? 0 : 1;
}
