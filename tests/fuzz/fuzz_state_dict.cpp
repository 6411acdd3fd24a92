// libFuzzer harness: a checkpoint file's bytes loaded into FashionNet with load_state_dict, as
// train_fashion_mnist --resume does.
#include <ember/ember.h>

#include "../../examples/fashion_net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto model = std::make_shared<ember::examples::FashionNet>();
  try {
    ember::TensorMap state =
        ember::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    model->load_state_dict(state, /*strict=*/size % 2 == 0);
  } catch (const ember::Error&) {
  }
  return 0;
}
