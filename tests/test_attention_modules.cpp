// The attention modules against the reference PyTorch modules (the 2-D blocks of
// cmsflash/efficient-attention, torch.nn.MultiheadAttention and a token EfficientSelfAttention)
// with the same weights, and EfficientSelfAttention over tokens: self, masked and cross-attention.
#include <cmath>
#include <map>

#include "helpers.h"

using namespace ember;
namespace F = ember::nn::functional;
using ember::testing::values;
using nn::Normalization;

namespace {

TensorMap golden() { return testing::golden_file("attention.safetensors"); }
using testing::with_prefix;

}  // namespace

TEST_CASE("the 2-D modules, MultiheadAttention and EfficientSelfAttention match PyTorch") {
  TensorMap g = golden();
  std::map<std::string, std::function<std::shared_ptr<nn::Module>()>> makers{
      {"efficient2d",
       [] {
         return nn::EfficientAttention2d(nn::AttentionConfig{
             .in_channels = 6, .key_channels = 8, .value_channels = 4, .head_count = 2});
       }},
      {"dot2d",  // the default, blocked: one query per block, so many blocks
       [] {
         return nn::DotProductAttention2d(nn::AttentionConfig{.in_channels = 6,
                                                              .key_channels = 8,
                                                              .value_channels = 4,
                                                              .head_count = 2,
                                                              .block_elements = 1});
       }},
      {"dot2d_full",  // the same golden values through the full map
       [] {
         return nn::DotProductAttention2d(nn::AttentionConfig{.in_channels = 6,
                                                              .key_channels = 8,
                                                              .value_channels = 4,
                                                              .head_count = 2,
                                                              .blocked = false});
       }},
      {"mha",
       [] {
         return nn::MultiheadAttention(nn::TokenAttentionConfig{.embed_dim = 8, .num_heads = 2});
       }},
      {"esa_self",
       [] {
         return nn::EfficientSelfAttention(
             nn::TokenAttentionConfig{.embed_dim = 8, .num_heads = 2});
       }},
      {"esa_cross",
       [] {
         return nn::EfficientSelfAttention(
             nn::TokenAttentionConfig{.embed_dim = 8, .num_heads = 2});
       }},
  };
  for (const auto& [name, make] : makers) {
    for (std::string tag : {"f64", "f32"}) {
      CAPTURE(name);
      CAPTURE(tag);
      std::string key = (name == "dot2d_full" ? std::string("dot2d") : name) + "." + tag + ".";
      double rtol = tag == "f64" ? 1e-10 : 1e-4, atol = tag == "f64" ? 1e-12 : 1e-5;
      auto m = make();
      if (tag == "f64") m->to(kFloat64);
      m->load_state_dict(with_prefix(g, key + "param."));
      Tensor x = clone(g.at(key + "x")).requires_grad_();
      Tensor out, kv;
      if (name == "mha") {
        kv = clone(g.at(key + "key")).requires_grad_();
        out = std::dynamic_pointer_cast<nn::MultiheadAttentionImpl>(m)->forward(x, kv, kv,
                                                                                g.at(key + "mask"));
      } else if (name == "esa_cross") {
        kv = clone(g.at(key + "key")).requires_grad_();
        out = std::dynamic_pointer_cast<nn::EfficientSelfAttentionImpl>(m)->forward(
            x, kv, g.at(key + "mask"));
      } else {
        out = (*m)(x);
      }
      CHECK_CLOSE_ABS(out, g.at(key + "out"), rtol, atol);
      out.backward(g.at(key + "gout"));
      CHECK_CLOSE_ABS(x.grad(), g.at(key + "grad.x"), rtol, atol);
      if (kv.defined()) CHECK_CLOSE_ABS(kv.grad(), g.at(key + "grad.key"), rtol, atol);
      for (auto& [pname, p] : m->named_parameters()) {
        CAPTURE(pname);
        CHECK_CLOSE_ABS(p.grad(), g.at(key + "grad." + pname), rtol, atol);
      }
    }
  }
}

TEST_CASE("EfficientSelfAttention: self, masked and cross-attention over tokens") {
  manual_seed(6);
  nn::EfficientSelfAttention att({.embed_dim = 8, .num_heads = 2});
  Tensor x = randn({2, 5, 8}), context = randn({2, 7, 8});
  CHECK(ember::testing::shape(att(x)) == Shape{2, 5, 8});
  CHECK(ember::testing::shape(att->forward(x, context, {})) == Shape{2, 5, 8});
  Tensor mask = tensor({{0, 0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 1}}, kInt64);
  // Masked context positions have no influence: changing them changes nothing.
  Tensor changed = clone(context);
  changed.copy_(where(reshape(eq(mask, 1.0), {2, 7, 1}), randn({2, 7, 8}) * 10.0, context));
  CHECK_CLOSE_ABS(att->forward(x, context, mask), att->forward(x, changed, mask), 1e-5, 1e-6);
  CHECK(ember::testing::mismatch(att->forward(x, context, {}), att->forward(x, changed, {}), 1e-3,
                                 1e-3) != "");
  nn::MultiheadAttention mha({.embed_dim = 8, .num_heads = 2});
  CHECK_CLOSE_ABS(mha->forward(x, context, context, mask), mha->forward(x, changed, changed, mask),
                  1e-5, 1e-6);
  CHECK_THROWS_WITH_AS(nn::MultiheadAttention({.embed_dim = 8, .num_heads = 3}),
                       "MultiheadAttention: embed_dim 8 must divide into 3 heads", Error);
}
