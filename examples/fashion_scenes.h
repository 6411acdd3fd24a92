// Fashion scenes: a dense-prediction task whose labels need global context, made from
// Fashion-MNIST by ember's own code, deterministically from a seed.
//
// A scene is a 64x64 canvas cut into four 32x32 cells, each holding one Fashion-MNIST item
// (28x28, shifted by 0-4 pixels within its cell). One cell, chosen at random, holds the
// reference item and is tinted: none of its pixels is darker than kTint, so every pixel of it
// knows locally that it belongs to the reference. Each of the other three items is of the
// reference's class or of another class, with even odds. Every pixel is labelled:
//   0  background,
//   1  an item of the reference's class ("same"),
//   2  an item of another class ("other"),
//   -100 (ignore_index) the reference's cell.
// A pixel's label is thus decided 32 to 90 pixels away, in another cell: nothing around the
// pixel says whether its item matches the reference. A network without global context can
// find the items (background against foreground) but can only guess same or other; attention
// over the whole feature map can carry the reference's class to every position.
//
// Scenes are drawn on demand from the seed and the scene's index (the DataLoader's threads may
// draw them in any order): no scene is stored. tools/make_scene_goldens.py draws the same scenes
// with PyTorch's generator, as the test against it checks.
#pragma once

#include <ember/ember.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace ember::examples {

constexpr int64_t kSceneSize = 64, kCell = 32, kItem = 28;
constexpr int64_t kIgnore = -100;
/// An item pixel: brighter than this (of 1). Fashion-MNIST's items lie on black.
constexpr float kItemThreshold = 0.2f;
/// The reference cell's least brightness.
constexpr float kTint = 0.5f;

class FashionScenes : public data::Dataset {
 public:
  /// `items`: (M, 28, 28) pixels in [0, 1]; `labels`: (M) int64 classes 0-9, each class present.
  /// `count` scenes, drawn from `seed`.
  FashionScenes(Tensor items, Tensor labels, int64_t count, uint64_t seed)
      : items_(items.contiguous()), labels_(labels.contiguous()), count_(count), seed_(seed) {
    if (items_.dim() != 3 || items_.size(1) != kItem || items_.size(2) != kItem ||
        labels_.dim() != 1 || labels_.size(0) != items_.size(0) || items_.dtype() != kFloat32)
      fail("FashionScenes: expected float32 items (M, 28, 28) and labels (M), got ",
           shape_str(items_.sizes()), " and ", shape_str(labels_.sizes()));
    const int64_t* l = labels_.data_ptr<int64_t>();
    for (int64_t i = 0; i < labels_.size(0); ++i) {
      if (l[i] < 0 || l[i] > 9) fail("FashionScenes: label ", l[i], " is not a class 0-9");
      by_class_[l[i]].push_back(i);
    }
    for (int k = 0; k < 10; ++k)
      if (by_class_[k].empty()) fail("FashionScenes: no item of class ", k);
  }

  int64_t size() const override { return count_; }

  /// Scene i: data (1, 64, 64) normalised as Fashion-MNIST is, target (64, 64) int64.
  data::Example<> get(int64_t i, Generator&) const override {
    Scene s = draw(i);
    return {(s.image - kSceneMean) / kSceneStd, s.labels};
  }

  struct Scene {
    Tensor image;   // (1, 64, 64) in [0, 1]
    Tensor labels;  // (64, 64) int64
  };

  /// Scene i before normalisation.
  Scene draw(int64_t i) const {
    // The scene's own generator: its draws depend on (seed, i) alone.
    Generator g(static_cast<uint32_t>(seed_ * 1000003u + static_cast<uint64_t>(i)));
    auto pick = [&](int64_t n) { return randint(0, n, {1}, kInt64, &g).item<int64_t>(); };
    Scene s{zeros({1, kSceneSize, kSceneSize}), zeros({kSceneSize, kSceneSize}, kInt64)};
    float* px = s.image.data_ptr<float>();
    int64_t* lab = s.labels.data_ptr<int64_t>();
    int64_t reference_cell = pick(4);
    int64_t reference = pick(items_.size(0));
    int64_t reference_class = labels_.data_ptr<int64_t>()[reference];
    for (int64_t cell = 0; cell < 4; ++cell) {
      int64_t item = reference, label = kIgnore;
      if (cell != reference_cell) {
        bool same = pick(2) == 1;
        int64_t cls = same ? reference_class : (reference_class + 1 + pick(9)) % 10;
        const std::vector<int64_t>& pool = by_class_[cls];
        item = pool[pick(static_cast<int64_t>(pool.size()))];
        label = same ? 1 : 2;
      }
      int64_t top = cell / 2 * kCell + pick(5), left = cell % 2 * kCell + pick(5);
      const float* src = items_.data_ptr<float>() + item * kItem * kItem;
      for (int64_t y = 0; y < kItem; ++y)
        for (int64_t x = 0; x < kItem; ++x) {
          float v = src[y * kItem + x];
          int64_t at = (top + y) * kSceneSize + left + x;
          px[at] = v;
          if (v > kItemThreshold) lab[at] = label;
        }
    }
    // The reference cell: tinted, and ignored.
    int64_t top = reference_cell / 2 * kCell, left = reference_cell % 2 * kCell;
    for (int64_t y = top; y < top + kCell; ++y)
      for (int64_t x = left; x < left + kCell; ++x) {
        px[y * kSceneSize + x] = std::max(px[y * kSceneSize + x], kTint);
        lab[y * kSceneSize + x] = kIgnore;
      }
    return s;
  }

  /// Pixel mean and standard deviation of the scenes (500 training scenes of seed 0, measured with
  /// tools/make_scene_goldens.py's drawing).
  static constexpr double kSceneMean = 0.306, kSceneStd = 0.332;

 private:
  Tensor items_, labels_;
  int64_t count_;
  uint64_t seed_;
  std::array<std::vector<int64_t>, 10> by_class_;
};

}  // namespace ember::examples
