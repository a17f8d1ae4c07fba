// Thread policy shared by all kernels: OpenMP, never nested. A kernel called from inside a
// parallel region runs on the calling thread only (no oversubscription); otherwise it uses
// up to the configured number of threads (sepnet --threads N -> set_num_threads).
#pragma once
#include <omp.h>

#include "sepnet/kernels/threads.h"

namespace sepnet::kernels {

// Threads worth using for `work` units when each thread should get at least `grain` units:
// tiny layers stay single-threaded instead of paying the fork/join cost.
inline int threads_for(long work, long grain) {
  long t = grain > 0 ? work / grain : work;
  int avail = available_threads();
  if (t < 1) t = 1;
  return t < avail ? static_cast<int>(t) : avail;
}

}  // namespace sepnet::kernels
