#include "sepnet/dist/mpi_communicator.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

// The C API only: Open MPI's and MPICH's deprecated C++ bindings would need their own library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

namespace sepnet::dist {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<size_t>(length)));
}

// MPI counts are int: long buffers go in pieces.
constexpr int64_t kMaxPiece = std::numeric_limits<int>::max() / 2;

// Reduce to rank 0, then broadcast its result: every rank gets the same bits, which
// MPI_Allreduce does not promise (its algorithms may sum in a different order on each rank).
template <class T>
void sum_identically(T* data, int64_t count, MPI_Datatype type, int rank) {
  for (int64_t at = 0; at < count; at += kMaxPiece) {
    const int n = static_cast<int>(std::min(kMaxPiece, count - at));
    if (rank == 0)
      check(MPI_Reduce(MPI_IN_PLACE, data + at, n, type, MPI_SUM, 0, MPI_COMM_WORLD), "MPI_Reduce");
    else
      check(MPI_Reduce(data + at, nullptr, n, type, MPI_SUM, 0, MPI_COMM_WORLD), "MPI_Reduce");
    check(MPI_Bcast(data + at, n, type, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

MpiCommunicator::MpiCommunicator() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    finalize_ = true;
  }
  // Errors come back as return codes (turned into exceptions) rather than aborting silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  if (finalize_) MPI_Finalize();
}

void MpiCommunicator::sum(float* data, int64_t count) { sum_identically(data, count, MPI_FLOAT, rank_); }

void MpiCommunicator::sum(double* data, int64_t count) { sum_identically(data, count, MPI_DOUBLE, rank_); }

void MpiCommunicator::broadcast(float* data, int64_t count, int root) {
  for (int64_t at = 0; at < count; at += kMaxPiece) {
    const int n = static_cast<int>(std::min(kMaxPiece, count - at));
    check(MPI_Bcast(data + at, n, MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace sepnet::dist
