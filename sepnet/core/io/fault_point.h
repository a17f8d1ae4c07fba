// Test hook for crash-consistency tests: the savers call fault_point() between the steps of a
// save, and when the environment variable SEPNET_FAULT_AT=N is set the process kills itself with
// SIGKILL at the N-th call, exactly as `kill -9` at that instant would. With SEPNET_FAULT_LOG
// set to a file path, every call appends its name there, so a test learns how many points a run
// passes. Without the variables a call costs one branch on a cached flag.
#pragma once

namespace sepnet {

void fault_point(const char* name);

}  // namespace sepnet
