// Global attention maps, drawn: in efficient attention each key channel, softmaxed over the
// positions, is a map over the whole image of where that channel looks. Shared by
// examples/attention_maps.cpp and the tour's two_attentions (docs/tour/04-two-attentions.md).
#pragma once

#include <ember/ember.h>

#include "fashion_data.h"  // kFashionMean, kFashionStd
#include "fashion_net.h"

namespace ember::examples {

/// Raw (N, 28, 28) pixels in [0, 255] as the network's (N, 1, 28, 28) input.
inline Tensor fashion_input(const Tensor& raw) {
  return (unsqueeze(raw, 1) / 255.0 - kFashionMean) / kFashionStd;
}

/// Each key channel of `keys` (N, channels, positions), softmaxed over the positions and laid
/// out as (N, channels, h, w): the global attention maps.
inline Tensor global_maps(const Tensor& keys, int64_t h, int64_t w) {
  return reshape(softmax(keys, 2), {keys.size(0), keys.size(1), h, w});
}

/// The global attention maps of FashionNet's efficient attention block for `input`:
/// (N, key channels, 14, 14).
inline Tensor fashion_net_maps(FashionNet& net, const Tensor& input) {
  auto attention = std::dynamic_pointer_cast<nn::EfficientAttention2dImpl>(net.attn);
  check(attention != nullptr, "fashion_net_maps: the network has no efficient attention block");
  Tensor features = (*net.block1)(input);  // (N, 32, 14, 14): the block's input
  int64_t n = features.size(0), h = features.size(2), w = features.size(3);
  return global_maps(reshape((*attention->keys)(features), {n, -1, h * w}), h, w);
}

/// Rescales a (H, W) map to [0, 1] and enlarges it by nearest neighbour to (size, size).
inline Tensor tile(const Tensor& map, int64_t size) {
  Tensor m = map - amin(map, {});
  m = m / (amax(m, {}) + 1e-12);
  int64_t h = map.size(0), w = map.size(1);
  Tensor rows =
      index_select(m, 0, to(arange(0, double(size), 1, kFloat64) * (double(h) / size), kInt64));
  return index_select(rows, 1,
                      to(arange(0, double(size), 1, kFloat64) * (double(w) / size), kInt64));
}

/// One grey (1, H, W) picture: a row per image, the image (raw pixels) on the left, then the
/// first `shown` of its maps (N, channels, h, w), each scaled to [0, 1].
inline Tensor map_grid(const Tensor& raw, const Tensor& maps, int64_t shown) {
  constexpr int64_t cell = 56, gap = 4;
  int64_t n = raw.size(0);
  shown = std::min<int64_t>(shown, maps.size(1));
  Tensor grid = ones({1, n * (cell + gap) + gap, (shown + 1) * (cell + gap) + gap});
  for (int64_t i = 0; i < n; ++i) {
    int64_t top = gap + i * (cell + gap);
    auto place = [&](int64_t column, const Tensor& picture) {
      narrow(narrow(select(grid, 0, 0), 0, top, cell), 1, gap + column * (cell + gap), cell)
          .copy_(picture);
    };
    place(0, tile(select(raw, 0, i), cell));
    for (int64_t k = 0; k < shown; ++k) place(k + 1, tile(select(select(maps, 0, i), 0, k), cell));
  }
  return grid;
}

}  // namespace ember::examples
