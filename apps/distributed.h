// How the command line joins an MPI job: under mpirun/mpiexec (and a build with MPI) training
// runs data parallel; an error on any rank ends the whole job.
#pragma once

#include "sepnet/train/communicator.h"

namespace sepnet::app {

// The MPI communicator when this process was started by an MPI launcher, else null. Throws if
// it was but this build has no MPI. The job lives until leave_mpi_job() or stop_other_ranks():
// not with a scope, because finalizing MPI while unwinding an error would wait for the other
// ranks forever.
train::Communicator* join_mpi_job_if_launched();

// After success: finalizes MPI (if this process joined a job).
void leave_mpi_job();

// After an error on this rank: ends every rank of the job (MPI_Abort) so none waits forever in
// a collective. Does nothing outside an MPI job.
void stop_other_ranks(int code);

}  // namespace sepnet::app
