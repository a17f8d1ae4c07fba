// Running one plan step on raw pointers (executor.cpp binds the pointers).
#pragma once
#include <string>

#include "sepnet/infer/step.h"

namespace sepnet::infer {

int64_t scratch_floats_for(const Step& s);
// inputs: one pointer per node input (constants included); output: the step's buffer.
void run_step(const Step& s, const float* const* inputs, float* output, float* scratch);
std::string describe_step(const Step& s);

}  // namespace sepnet::infer
