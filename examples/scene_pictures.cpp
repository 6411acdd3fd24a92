// What SceneNet sees and says on the fashion scenes: for a few test scenes, one PNG row each,
// the scene, its ground truth, the model's prediction and (efficient attention) the global
// attention maps of its first key channels over the 32x32 feature map. Masks: background black,
// "same class as the reference" green, "another class" red, the ignored reference cell grey.
// Run: ./build/examples/train_fashion_mnist --model scenes --save scenes.safetensors
//      ./build/examples/scene_pictures --checkpoint scenes.safetensors --out scenes.png
#include <ember/ember.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "attention_map_grid.h"
#include "checkpoint.h"
#include "fashion_data.h"
#include "run_settings.h"

using namespace ember;

namespace {

// A (64, 64) label map as an RGB (3, 64, 64) picture.
Tensor colour(const Tensor& labels) {
  Tensor rgb = zeros({3, labels.size(0), labels.size(1)});
  const int64_t* l = labels.contiguous().data_ptr<int64_t>();
  float* p = rgb.data_ptr<float>();
  int64_t n = labels.numel();
  for (int64_t i = 0; i < n; ++i) {
    float r = 0, g = 0, b = 0;
    if (l[i] == 1) g = 1;
    if (l[i] == 2) r = 1;
    if (l[i] == examples::kIgnore) r = g = b = 0.5f;
    p[i] = r, p[n + i] = g, p[2 * n + i] = b;
  }
  return rgb;
}

// An RGB (3, H, W) picture enlarged to (3, size, size), nearest neighbour.
Tensor enlarged(const Tensor& rgb, int64_t size) {
  auto rows = [&](int64_t n) {
    return to(arange(0, double(size), 1, kFloat64) * (double(n) / size), kInt64);
  };
  return index_select(index_select(rgb, 1, rows(rgb.size(1))), 2, rows(rgb.size(2)));
}

// A gray (H, W) picture in [0, 1] as RGB, enlarged to `size`.
Tensor gray(const Tensor& picture, int64_t size) {
  Tensor t = examples::tile(picture, size);
  return stack({t, t, t}, 0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Draw SceneNet's predictions and attention maps on test scenes as a PNG"};
  std::string checkpoint, data = "/usr/share/datasets/fashion-mnist", out = "scenes.png";
  int64_t scenes = 5, maps = 4;
  app.add_option("--checkpoint", checkpoint, "train_fashion_mnist --model scenes checkpoint")
      ->required();
  app.add_option("--data", data, "folder with the Fashion-MNIST IDX files");
  app.add_option("--scenes", scenes, "test scenes (rows)")->check(CLI::Range(1, 64));
  app.add_option("--maps", maps, "key channels shown per scene")->check(CLI::Range(0, 32));
  app.add_option("--out", out, "PNG output");
  CLI11_PARSE(app, argc, argv);
  try {
    examples::Checkpoint k = examples::read_checkpoint(checkpoint);
    examples::Config c;
    c.model = "scenes";
    examples::settings_from(k, c);
    if (c.model != "scenes") fail("scene_pictures: '", checkpoint, "' is not a scenes checkpoint");
    check_writable(out, "--out");
    std::shared_ptr<nn::Module> model = examples::make_model(c);
    model->load_state_dict(k.model);
    model->eval();
    NoGradGuard no_grad;
    examples::Split split = examples::load_scenes(data, c.scenes, c.limit, c.seed);
    auto& test = static_cast<const examples::FashionScenes&>(*split.test);
    auto net = std::dynamic_pointer_cast<examples::SceneNet>(model);
    auto attention = std::dynamic_pointer_cast<nn::EfficientAttention2dImpl>(net->attn);
    if (!attention) maps = 0;  // global maps are efficient attention's
    constexpr int64_t cell = 128, gap = 4;
    int64_t columns = 3 + maps;
    Tensor grid = ones({3, scenes * (cell + gap) + gap, columns * (cell + gap) + gap});
    for (int64_t i = 0; i < scenes; ++i) {
      examples::FashionScenes::Scene s = test.draw(i);
      Tensor input = unsqueeze(
          (s.image - examples::FashionScenes::kSceneMean) / examples::FashionScenes::kSceneStd, 0);
      Tensor predicted = select(argmax((*model)(input), 1), 0, 0);
      // The ignored cell stays grey in the prediction too: nothing is asked there.
      predicted = where(eq(s.labels, examples::kIgnore), s.labels, predicted);
      std::vector<Tensor> row{gray(select(s.image, 0, 0), cell), enlarged(colour(s.labels), cell),
                              enlarged(colour(predicted), cell)};
      if (maps > 0) {
        Tensor features = (*net->down)((*net->stem)(input));  // (1, 32, 32, 32)
        Tensor keys = examples::global_maps(
            reshape((*attention->keys)(features), {1, -1, features.size(2) * features.size(3)}),
            features.size(2), features.size(3));
        for (int64_t m = 0; m < maps; ++m)
          row.push_back(gray(select(select(keys, 0, 0), 0, m), cell));
      }
      for (int64_t col = 0; col < columns; ++col)
        narrow(narrow(grid, 1, gap + i * (cell + gap), cell), 2, gap + col * (cell + gap), cell)
            .copy_(row[col]);
    }
    data::write_png(out, grid);
    std::printf(
        "wrote %s: %lld test scenes; per row the scene, the truth, the prediction (green: same "
        "class as the grey reference cell's item, red: another) and %lld global attention maps\n",
        out.c_str(), (long long)scenes, (long long)maps);
    return 0;
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const examples::UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  } catch (const examples::MissingData& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 2;
  }
}
