// Data-cache sizes of the CPU this process runs on, for GEMM blocking (MC/KC/NC).
// From libcpuinfo when linked (SEPNET_HAVE_CPUINFO), else Linux sysfs, else Zen-4-like
// constants. Computed once; per-core sizes (a shared L3 is reported whole).
#pragma once

namespace sepnet::kernels {

struct CacheSizes {
  long l1d;  // bytes, per core
  long l2;   // bytes, per core
  long l3;   // bytes, whole cache
};

const CacheSizes& cache_sizes();

}  // namespace sepnet::kernels
