// libFuzzer harness: a whole checkpoint's bytes through what train_fashion_mnist --resume does
// with them: split into model and optimizer state, its settings read and reconciled with a
// command line (some flags given, some not, chosen by the input), then the model and optimizer
// the settings name restored from it.
#include <ember/ember.h>

#include "../../examples/run_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ember;
  if (size == 0) return 0;
  try {
    Metadata metadata;
    // The first byte says which flags the command line gave (with their defaults' values).
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    TensorMap all = parse_safetensors(bytes, "fuzz", &metadata);
    examples::Checkpoint k = examples::split_checkpoint("fuzz", all, std::move(metadata));
    examples::Config c;
    const char* flags[] = {"--model",      "--optimizer", "--schedule",     "--epochs",
                           "--batch-size", "--lr",        "--weight-decay", "--augment"};
    for (int i = 0; i < 8; ++i)
      if (data[0] >> i & 1) c.given.insert(flags[i]);
    examples::Position at = examples::settings_from(k, c);
    examples::check_position(k, c, at, 10);
    std::shared_ptr<nn::Module> model = examples::make_model(c);
    std::unique_ptr<optim::Optimizer> optimizer = examples::make_optimizer(c, *model);
    examples::restore(k, c, *model, optimizer.get());
  } catch (const Error&) {
  } catch (const examples::UsageError&) {
  }
  return 0;
}
