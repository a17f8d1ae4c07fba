// Running one plan step on raw pointers (executor.cpp binds the pointers).
#pragma once
#include <cstdint>
#include <string>

#include "sepnet/infer/step.h"

namespace sepnet::infer {

int64_t scratch_floats_for(const Step& s);
// Winner indices a max pool step needs (the pool kernel writes them; 0 for other steps).
int64_t index_scratch_for(const Step& s);
// inputs: one pointer per node input (constants included); output: the step's buffer.
void run_step(const Step& s, const float* const* inputs, float* output, float* scratch, int32_t* index_scratch);
std::string describe_step(const Step& s);

}  // namespace sepnet::infer
