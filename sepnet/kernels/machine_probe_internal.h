// Internal to the machine probe: per-ISA FMA loops (one per translation unit).
#pragma once

namespace sepnet::kernels::probe {

// Each runs `iterations` rounds of FMAs on independent accumulators on the calling thread
// and returns the number of floating-point operations performed (2 per FMA lane). The sink
// keeps the work observable so the compiler cannot drop it.
double fma_loop_scalar(long iterations, float* sink);
double fma_loop_avx2(long iterations, float* sink);
double fma_loop_avx512(long iterations, float* sink);

}  // namespace sepnet::kernels::probe
