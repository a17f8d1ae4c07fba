#include "apps/distributed.h"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#ifdef SEPNET_HAVE_MPI
#include "sepnet/dist/mpi_communicator.h"
#endif

namespace sepnet::app {
namespace {
#ifdef SEPNET_HAVE_MPI
std::unique_ptr<dist::MpiCommunicator>& job() {
  static std::unique_ptr<dist::MpiCommunicator> the_job;  // the job this process joined
  return the_job;
}
#endif
}  // namespace

train::Communicator* join_mpi_job_if_launched() {
#ifdef SEPNET_HAVE_MPI
  if (!dist::launched_by_mpi()) return nullptr;
  if (!job()) job() = std::make_unique<dist::MpiCommunicator>();
  return job().get();
#else
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(var) != nullptr)
      throw std::runtime_error("started by an MPI launcher, but this sepnet was built without MPI "
                               "(install libopenmpi-dev and rebuild; CMake finds it, or -DSEPNET_MPI=ON)");
  return nullptr;
#endif
}

void leave_mpi_job() {
#ifdef SEPNET_HAVE_MPI
  job().reset();
#endif
}

void stop_other_ranks(int code) {
#ifdef SEPNET_HAVE_MPI
  if (job() && job()->size() > 1) job()->abort(code);
#else
  (void)code;
#endif
}

}  // namespace sepnet::app
