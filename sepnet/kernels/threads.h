// Thread count used by every kernel (OpenMP underneath; this header does not expose it, so
// a program linking sepnet needs no OpenMP flags of its own).
#pragma once

namespace sepnet::kernels {

// Threads a kernel called here may use: 1 inside a parallel region (never nested), else the
// configured count.
int available_threads();
// Sets the count for every later kernel call (sepnet --threads N); n < 1 means 1.
void set_num_threads(int n);

}  // namespace sepnet::kernels
