// Internal to the machine probe: the row of the variants table each per-ISA translation unit
// exports (machine_probe_{scalar,avx2,avx512}.cpp); machine_probe.cpp lists them.
#pragma once
#include "sepnet/kernels/machine_probe.h"

namespace sepnet::kernels {
extern const MachineProbeEntry kProbeScalar, kProbeAvx2, kProbeAvx512;
}  // namespace sepnet::kernels
