// The collective operations data-parallel training needs, behind an interface so that the
// training layer does not depend on a transport: `sepnet::dist::MpiCommunicator`
// (sepnet/dist/, built when MPI is found) implements it over MPI, and a program may supply its
// own. Every rank calls the same operations in the same order with the same sizes.
#pragma once
#include <cstdint>

namespace sepnet::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums `data` element-wise over all ranks into every rank's `data`. Every rank receives the
  // same bits (one rank's reduction, broadcast), so replicas stay identical.
  virtual void sum(float* data, int64_t count) = 0;
  virtual void sum(double* data, int64_t count) = 0;
  // Copies `root`'s `data` into every rank's.
  virtual void broadcast(float* data, int64_t count, int root) = 0;
};

// One process, no communication: what training uses when no communicator is given.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(float*, int64_t) override {}
  void sum(double*, int64_t) override {}
  void broadcast(float*, int64_t, int) override {}
};

}  // namespace sepnet::train
