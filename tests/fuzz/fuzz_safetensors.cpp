// libFuzzer harness: the safetensors reader on arbitrary bytes. Malformed input must end in
// ember::Error, never a crash, leak, hang or unbounded allocation.
#include <ember/ember.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const ember::Error&) {
  }
  return 0;
}
