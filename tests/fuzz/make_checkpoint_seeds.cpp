// Writes fuzz_checkpoint's seed corpus into the folder argv[1]: checkpoints as
// train_fashion_mnist saves them (FashionViT with AdamW after one step, FashionNet with SGD and
// momentum), each behind the byte that tells the harness which flags were given. Made at fuzz
// time rather than committed: a checkpoint is megabytes.
#include <ember/ember.h>

#include <filesystem>
#include <fstream>

#include "../../examples/run_settings.h"

namespace {

void write_seed(const std::string& folder, const std::string& name,
                const ember::examples::Config& c, char flags) {
  using namespace ember;
  manual_seed(0);
  std::shared_ptr<nn::Module> model = examples::make_model(c);
  std::unique_ptr<optim::Optimizer> optimizer = examples::make_optimizer(c, *model);
  optimizer->zero_grad();
  nn::functional::cross_entropy((*model)(rand({2, 1, 28, 28})), randint(0, 10, {2})).backward();
  optimizer->step();  // so that the optimizer has state to save
  std::string file = folder + "/" + name + ".safetensors";
  examples::save_checkpoint(file, *model, *optimizer,
                            examples::checkpoint_metadata(c, {.epoch = 1, .step = 3}, 10));
  std::ifstream in(file, std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(file);
  std::ofstream(folder + "/" + name, std::ios::binary) << flags << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  ember::examples::Config vit;
  vit.model = "vit";
  ember::examples::apply_model_defaults(vit);
  write_seed(argv[1], "vit_adamw_onecycle", vit, 0);
  write_seed(argv[1], "vit_adamw_onecycle_flags", vit, '\xff');
  ember::examples::Config net;
  net.optimizer = "sgd";
  net.attention = "none";
  write_seed(argv[1], "fashionnet_sgd", net, 0x20);
  return 0;
}
