#include "sepnet/kernels/threads.h"

#include <omp.h>

namespace sepnet::kernels {

int available_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }

}  // namespace sepnet::kernels
