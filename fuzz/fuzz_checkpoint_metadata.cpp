// libFuzzer harness for loading a checkpoint the way `sepnet eval` and resume do: parse the file,
// rebuild the network its metadata names (models::spec_from_metadata, build_model_for_checkpoint) and
// load the tensors into it (load_model). Every std::exception is an accepted outcome; a crash,
// sanitizer report, leak, timeout or out-of-memory is a finding.
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/safetensors.h"
#include "sepnet/core/random.h"
#include "sepnet/models/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sepnet::fuzz::ScratchFile scratch("checkpoint");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const sepnet::Metadata metadata = sepnet::parse_safetensors(bytes, "fuzz.safetensors").metadata;
    const sepnet::models::ModelSpec spec = sepnet::models::spec_from_metadata("fuzz.safetensors", metadata);
    const std::string path = scratch.write(bytes);
    sepnet::Rng rng(0);
    // As sepnet eval and resume do: the network may not need more memory than the file holds.
    const std::unique_ptr<sepnet::nn::Module> model = sepnet::models::build_model_for_checkpoint(spec, rng, path);
    sepnet::load_model(path, *model);
  } catch (const std::exception&) {
  }
  return 0;
}
