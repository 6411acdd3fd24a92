// libtorch's spellings for modules and options: ModuleHolder handles (nn::Linear for LinearImpl)
// and the option builders (nn::Conv2dOptions(1, 32, 3).padding(1), optim::AdamOptions(1e-3)),
// each checked against ember's own spelling of the same thing (a designated aggregate, a
// shared_ptr), field by field and by the layer's printed configuration.
#include "helpers.h"

using namespace ember;
using testing::values;

namespace {

std::string repr(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

bool same(nn::Pair a, nn::Pair b) { return a.h == b.h && a.w == b.w; }

/// A module of a user's own with libtorch's habits: handles as members, forward(Tensor) by value
/// (which hides Module's virtual forward rather than overriding it).
struct NetImpl : nn::Module {
  NetImpl() : fc(nn::LinearOptions(3, 2)) { register_module("fc", fc); }
  Tensor forward(Tensor x) { return fc(x) * 2.0; }
  nn::Linear fc;
};
using Net = nn::ModuleHolder<NetImpl>;

}  // namespace

TEST_CASE("each nn option builder's setter fills its own field, and its getter reads it") {
  nn::Conv2dConfig c = nn::Conv2dOptions(2, 6, {3, 1})
                           .stride({2, 1})
                           .padding(1)
                           .dilation({1, 2})
                           .groups(2)
                           .bias(false);
  CHECK(c.in_channels == 2);
  CHECK(c.out_channels == 6);
  CHECK(same(c.kernel_size, {3, 1}));
  CHECK(same(c.stride, {2, 1}));
  CHECK(same(c.padding, {1, 1}));
  CHECK(same(c.dilation, {1, 2}));
  CHECK(c.groups == 2);
  CHECK(!c.bias);
  auto conv1 = nn::Conv1dOptions(4, 8, 5).stride(2).padding(3).dilation(2).groups(4);
  CHECK(conv1.kernel_size() == 5);
  CHECK(conv1.config().stride == 2);
  CHECK(conv1.config().padding == 3);
  CHECK(conv1.dilation() == 2);
  CHECK(conv1.groups() == 4);
  auto up = nn::ConvTranspose2dOptions(4, 2, 3).stride(2).padding(1).output_padding(1);
  CHECK(same(up.config().output_padding, 1));
  CHECK(same(up.config().padding, 1));
  CHECK(same(up.stride(), 2));

  nn::BatchNormConfig bn =
      nn::BatchNorm2dOptions(5).eps(1e-3).momentum(0.3).affine(false).track_running_stats(false);
  CHECK(bn.num_features == 5);
  CHECK(bn.eps == 1e-3);
  CHECK(bn.momentum == 0.3);
  CHECK(!bn.affine);
  CHECK(!bn.track_running_stats);
  nn::LayerNormConfig ln = nn::LayerNormOptions({4, 3}).eps(1e-6).elementwise_affine(false);
  CHECK(ln.normalized_shape == Shape{4, 3});
  CHECK(ln.eps == 1e-6);
  CHECK(!ln.elementwise_affine);
  nn::GroupNormConfig gn = nn::GroupNormOptions(2, 6).eps(1e-4).affine(false);
  CHECK((gn.num_groups == 2 && gn.num_channels == 6 && gn.eps == 1e-4 && !gn.affine));

  nn::Pool2dConfig pool = nn::MaxPool2dOptions(3).stride(2).padding(1).dilation(2);
  CHECK(same(pool.kernel_size, 3));
  CHECK(same(pool.stride.value(), 2));
  CHECK(same(pool.padding, 1));
  CHECK(same(pool.dilation, 2));
  CHECK(same(nn::AvgPool2dOptions(2).stride(), 2));  // the stride defaults to the kernel size
  CHECK(!nn::AvgPool2dOptions(2).config().stride.has_value());
  nn::Pool1dConfig pool1 = nn::MaxPool1dOptions(4).stride(3).padding(2).dilation(2);
  CHECK((pool1.kernel_size == 4 && pool1.stride == 3 && pool1.padding == 2 && pool1.dilation == 2));

  nn::RNNConfig rnn =
      nn::LSTMOptions(3, 5).num_layers(2).bias(false).batch_first(true).dropout(0.25).bidirectional(
          true);
  CHECK((rnn.input_size == 3 && rnn.hidden_size == 5 && rnn.num_layers == 2));
  CHECK((!rnn.bias && rnn.batch_first && rnn.dropout == 0.25 && rnn.bidirectional));
  nn::EmbeddingConfig emb = nn::EmbeddingOptions(10, 4);
  CHECK((emb.num_embeddings == 10 && emb.embedding_dim == 4));
  nn::TokenAttentionConfig mha = nn::MultiheadAttentionOptions(8, 2);
  CHECK((mha.embed_dim == 8 && mha.num_heads == 2));
  nn::LinearConfig lin = nn::LinearOptions(3, 4).bias(false);
  CHECK((lin.in_features == 3 && lin.out_features == 4 && !lin.bias));
}

TEST_CASE("a layer from a builder is the layer from ember's aggregate") {
  manual_seed(3);
  nn::Conv2d built(nn::Conv2dOptions(2, 4, 3).stride(2).padding(1).bias(false));
  manual_seed(3);
  nn::Conv2d designated({.in_channels = 2,
                         .out_channels = 4,
                         .kernel_size = 3,
                         .stride = 2,
                         .padding = 1,
                         .bias = false});
  CHECK(repr(*built) == repr(*designated));
  CHECK(values(built->weight) == values(designated->weight));
  CHECK(!built->bias.defined());
  CHECK(repr(*nn::BatchNorm2d(nn::BatchNorm2dOptions(3).momentum(0.2))) ==
        repr(*nn::BatchNorm2d({.num_features = 3, .momentum = 0.2})));
  CHECK(repr(*nn::LSTM(nn::LSTMOptions(3, 4).num_layers(2).batch_first(true))) ==
        repr(*nn::LSTM({.input_size = 3, .hidden_size = 4, .num_layers = 2, .batch_first = true})));
}

TEST_CASE("optimizers and the data loader take libtorch's builders, and a plain rate") {
  Tensor w = zeros({2}).requires_grad_();
  auto options_of = [](const optim::Optimizer& o) { return o.param_groups()[0].options; };
  CHECK(options_of(optim::SGD(
            {w}, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01).nesterov(
                     false))) ==
        optim::option_map(
            optim::SGDConfig{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01}));
  CHECK(options_of(optim::SGD({w}, 0.05)) == optim::option_map(optim::SGDConfig{.lr = 0.05}));
  CHECK(
      options_of(optim::Adam(
          {w},
          optim::AdamOptions(0.01).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.1).amsgrad(true))) ==
      optim::option_map(optim::AdamConfig{.lr = 0.01,
                                          .beta1 = 0.8,
                                          .beta2 = 0.95,
                                          .eps = 1e-6,
                                          .weight_decay = 0.1,
                                          .amsgrad = true}));
  CHECK(options_of(optim::Adam({w}, 2e-3)) == optim::option_map(optim::AdamConfig{.lr = 2e-3}));
  CHECK(std::get<1>(optim::AdamOptions().betas()) == 0.999);
  // AdamW's builder starts from its own weight decay, 1e-2, as libtorch's AdamWOptions.
  CHECK(options_of(optim::AdamW({w}, optim::AdamWOptions(1e-3))) ==
        optim::option_map(optim::AdamConfig{.lr = 1e-3, .weight_decay = 1e-2}));
  CHECK(
      options_of(optim::RMSprop(
          {w},
          optim::RMSpropOptions(0.02).alpha(0.9).eps(1e-5).weight_decay(0.1).momentum(0.5).centered(
              true))) == optim::option_map(optim::RMSpropConfig{.lr = 0.02,
                                                                .alpha = 0.9,
                                                                .eps = 1e-5,
                                                                .weight_decay = 0.1,
                                                                .momentum = 0.5,
                                                                .centered = true}));

  data::DataLoaderConfig loader = data::DataLoaderOptions(32).drop_last(true).workers(0);
  CHECK((loader.batch_size == 32 && loader.drop_last && !loader.prefetch));
  CHECK(data::DataLoaderOptions().batch_size() == 1);  // libtorch's default
  CHECK(data::DataLoaderOptions().workers(3).workers() == 1);
  CHECK_THROWS_WITH_AS(data::DataLoaderOptions().workers(-1),
                       "DataLoaderOptions: workers must be 0 or more, got -1", Error);
}

TEST_CASE("a handle shares its module, calls forward and refuses to be used empty") {
  nn::Linear a(3, 2);
  nn::Linear b = a;  // a copy shares the module, as a shared_ptr does
  CHECK(a.get() == b.get());
  std::shared_ptr<nn::Module> base = a;
  CHECK(base.get() == a.get());
  nn::Linear from_shared(std::make_shared<nn::LinearImpl>(2, 2));
  CHECK(from_shared->weight.size(0) == 2);

  manual_seed(0);
  Net net;
  Tensor x = randn({4, 3});
  // The handle calls the user's forward(Tensor), not Module's virtual forward(const Tensor&).
  CHECK(values(net(x)) == values(net->fc(x) * 2.0));
  // The member and the registered child are one module.
  CHECK(net->named_children()[0].second.get() == net->fc.get());
  CHECK(net->named_parameters()[0].first == "fc.weight");
  // named_parameters() is libtorch's OrderedDict: by position, by key, key() and value().
  auto named = net->named_parameters();
  CHECK(named.keys() == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(named["fc.bias"].impl_ptr() == net->fc->bias.impl_ptr());
  CHECK(named[1].key() == "fc.bias");
  CHECK(named[1].value().impl_ptr() == net->fc->bias.impl_ptr());
  CHECK(named.find("fc.nothing") == nullptr);
  CHECK_THROWS_WITH_AS(named["fc.nothing"], "OrderedDict: no key 'fc.nothing'", Error);
  CHECK_THROWS_WITH_AS(named.insert("fc.bias", Tensor()),
                       "OrderedDict: key 'fc.bias' is already present", Error);

  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK(!empty);
  CHECK_THROWS_WITH_AS((void)empty->weight,
                       "ModuleHolder<ember::nn::LinearImpl>: the handle is empty (made from "
                       "nullptr and not yet given a module)",
                       Error);
  CHECK_THROWS_AS(empty(x), Error);

  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), std::make_shared<nn::LinearImpl>(4, 1));
  CHECK(seq->size() == 3);
  CHECK(seq->forward(x).size(1) == 1);
  CHECK(repr(*seq[1]).rfind("ReLU()", 0) == 0);
  int linears = 0;
  seq->apply([&](nn::Module& m) { linears += dynamic_cast<nn::LinearImpl*>(&m) != nullptr; });
  CHECK(linears == 2);
  std::ostringstream printed;
  printed << seq;
  CHECK(printed.str() == repr(*seq));
}
