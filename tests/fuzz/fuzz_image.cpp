// libFuzzer harness: image decoding as ImageFolder does it (stb_image; grayscale or RGB,
// resized to 28x28 or not) on arbitrary bytes.
#include <ember/ember.h>

#include "file_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    int64_t side = size % 3 == 0 ? 0 : 28;
    ember::data::read_image(write_fuzz_file(data, size, ".img"), size % 2 ? 1 : 3, side, side);
  } catch (const ember::Error&) {
  }
  return 0;
}
