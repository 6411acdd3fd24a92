// libFuzzer harness: the IDX reader (plain, and .gz through zlib) on arbitrary bytes.
#include <ember/ember.h>

#include "file_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::data::load_idx(write_fuzz_file(data, size, ".idx"),
                          size % 2 ? ember::kInt64 : ember::kFloat32);
  } catch (const ember::Error&) {
  }
  return 0;
}
