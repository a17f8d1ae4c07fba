// train::Communicator over MPI (Open MPI or MPICH): data-parallel training when sepnet runs
// under mpirun/mpiexec. Built only when CMake finds MPI (SEPNET_MPI).
#pragma once
#include <memory>

#include "sepnet/train/communicator.h"

namespace sepnet::dist {

class MpiCommunicator final : public train::Communicator {
 public:
  // Initializes MPI (thread level FUNNELED: only the main thread calls MPI; OpenMP threads
  // compute between calls) unless the program already did; finalizes it if it initialized it.
  MpiCommunicator();
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(float* data, int64_t count) override;
  void sum(double* data, int64_t count) override;
  void broadcast(float* data, int64_t count, int root) override;
  // Ends every rank of the job with `code` (MPI_Abort): one rank's error stops the others
  // instead of leaving them waiting in a collective.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
  bool finalize_ = false;
};

// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI):
// checked through the launchers' environment variables, without initializing MPI.
bool launched_by_mpi();

}  // namespace sepnet::dist
