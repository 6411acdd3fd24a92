// Golden parity with PyTorch: composite expressions evaluated by tools/make_goldens.py with
// PyTorch, stored in tests/golden/autograd.safetensors. ember must reproduce the outputs and the
// gradients to 1e-12 relative in float64 and 1e-5 in float32.
#include <zlib.h>

#include <functional>
#include <map>
#include <set>

#include "../examples/fashion_net.h"
#include "helpers.h"

using namespace ember;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

namespace {

// The same expressions as tools/make_goldens.py, written with ember ops.
std::map<std::string, Fn> expressions() {
  return {
      {"mlp", [](const auto& x) { return log_softmax(tanh(matmul(x[0], x[1]) + x[2]), 1); }},
      {"norm",
       [](const auto& x) {
         Tensor mu = mean(x[0], {1}, true);
         Tensor v = var(x[0], {1}, 1, true);
         return (x[0] - mu) / sqrt(v + 1e-5) * x[1];
       }},
      {"attention",
       [](const auto& x) {
         double scale = 1.0 / std::sqrt(static_cast<double>(x[0].size(-1)));
         return matmul(softmax(matmul(x[0], transpose(x[1], -1, -2)) * scale, -1), x[2]);
       }},
      {"pointwise",
       [](const auto& x) {
         return log(sigmoid(x[0]) + exp(neg(x[0] * x[0]))) * pow(x[1], 1.5) + erf(x[0]) / x[1];
       }},
      {"picks",
       [](const auto& x) {
         Tensor target = view(tensor({2, 0, 3}, kInt64), {3, 1});
         Tensor nll = neg(gather(log_softmax(x[0], 1), 1, target));
         Tensor rows = index_select(x[0], 0, tensor({2, 0}, kInt64));
         return cat({reshape(expand(nll, {3, 2}), {-1}), reshape(rows, {-1})}) * 1.0;
       }},
      {"extremes",
       [](const auto& x) {
         Tensor m = amax(x[0], {1}, true);
         return relu(x[0] - 0.1) * maximum(x[0], x[1]) + clamp(x[1], -0.5, 0.5) - m;
       }},
      {"batched", [](const auto& x) { return sum(matmul(x[0], x[1]), {0}); }},
      {"views",
       [](const auto& x) {
         Tensor y = slice(slice(permute(x[0], {2, 0, 1}), 0, 1, 4), 2, 0, 3, 2);
         Tensor s = stack({select(y, 0, 0), squeeze(narrow(y, 0, 1, 1), 0)}, 0);
         return flatten(unsqueeze(s, 1), 2);
       }},
      {"trig",
       [](const auto& x) {
         Tensor mask = tensor({{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, 1}}) != 0;
         Tensor waves = masked_fill(sin(x[0]) * cos(x[1]), mask, 0.25);
         return waves + ember::std(x[0], {1}, 1, true) * norm(x[1], 3.0, {0});
       }},
      {"sorts",
       [](const auto& x) {
         auto [v, i] = sort(x[0], 1, /*descending=*/true);
         auto [t, j] = topk(x[0], 2, 0);
         Tensor k = argsort(x[0], 0);
         DType f = x[0].dtype();
         return cat(
             {flatten(v * v), flatten(t), flatten(to(i, f)), flatten(to(j, f)), flatten(to(k, f))});
       }},
      {"scans",
       [](const auto& x) {
         Tensor z = x[0] * to(tensor({{1, 0, 1, 1}, {1, 1, 1, 1}, {1, 1, 0, 0}}), x[0].dtype());
         return cat({flatten(cumsum(x[0], 1)), flatten(cumprod(z, 1)), prod(z, 1),
                     flatten(prod(x[0], 0, true)), reshape(prod(x[0]), {1}), logsumexp(x[0], 1),
                     flatten(logsumexp(x[0], {0, 1}, true))});
       }},
      {"rearranged",
       [](const auto& x) {
         const Tensor& y = x[1];
         Tensor moved = flip(y, {0, 1}) * roll(y, 1, 1) + roll(y, {2, -1}, {0, 1});
         Tensor triangles = tril(y, -1) + triu(y, 1) * 2.0 + tril(y);
         auto pq = split(y, Shape{1, 3}, 1);
         auto rows = unbind(y, 0);
         return cat({flatten(repeat(x[0], {2, 1, 2})), flatten(moved), flatten(triangles),
                     flatten(pq[0] * pq[1]), rows[0] * rows[2]});
       }},
      {"index_basic",
       [](const auto& x) {
         using namespace indexing;
         return cat({flatten(x[0].index({Slice(1, None), None, "...", 0})),
                     flatten(x[0].index({-1, Slice(None, None, 2)})),
                     flatten(x[0].index({"...", Slice(1, 4, 2)}))});
       }},
      {"index_tensors",
       [](const auto& x) {
         using namespace indexing;
         Tensor i = tensor({{0, 2}, {1, 3}}), j = tensor({4, 0});
         Tensor k = tensor({2, 0, -1}), m = tensor({1, 4, 3});
         Tensor adjacent = x[0].index({Slice(), i, j}), apart = x[0].index({k, Slice(), m});
         Tensor after_int = x[0].index({0, Slice(), m}), repeated = x[0][tensor({0, 0, 2})];
         std::vector<double> shapes;
         for (const Tensor& t : {adjacent, apart, after_int})
           for (int64_t s : t.sizes()) shapes.push_back(static_cast<double>(s));
         return cat({flatten(adjacent), flatten(apart), flatten(after_int), flatten(repeated),
                     to(from_vector(shapes, {7}), x[0].dtype())});
       }},
      {"index_put",
       [](const auto& x) {
         using namespace indexing;
         Tensor y = index_put(x[0], {Slice(1, None), 2}, x[1]);
         Tensor z = index_put(x[0], {tensor({0, 2, 0}), tensor({1, 1, 3})}, x[2], true);
         Tensor u = x[0].index_put({tensor({2, 1})}, unsqueeze(x[1], 1) * 1.0);
         return cat({flatten(y), flatten(z), flatten(u)});
       }},
      {"masked",
       [](const auto& x) {
         Tensor mask = tensor({{1, 0, 1, 1}, {0, 0, 1, 0}, {1, 1, 0, 1}}) != 0;
         return cat({masked_select(x[0], mask), masked_select(x[0], select(mask, 0, 0)) * 2.0});
       }},
      {"scattered",
       [](const auto& x) {
         Tensor idx = tensor({{2, 0}, {1, 3}}, kInt64), first = tensor({{2}, {1}, {0}});
         Tensor idx3 = cat({idx, tensor({{0, 0}})});
         return cat({flatten(scatter(x[0], 1, first, narrow(x[1], 1, 0, 1))),
                     flatten(x[0].scatter(1, tensor({{3}, {0}, {2}}), 2.5)),
                     flatten(scatter_add(x[0], 1, idx3, narrow(x[1], 1, 0, 2)))});
       }},
      {"einsums",
       [](const auto& x) {
         const Tensor &a = x[0], &b = x[1], &c = x[2], &q = x[3], &k = x[4];
         Tensor scores = einsum("bhqd,bhkd->bhqk", {q, k}).softmax(-1);
         return cat({flatten(einsum("ij,jk->ik", {a, b})), flatten(einsum("ij,kj", {a, c})),
                     flatten(einsum("i,j->ij", {a[0], b.select(1, 0)})),
                     reshape(einsum("ii", {a.narrow(1, 0, 2)}), {1}),
                     einsum("bij->j", {stack({a, a * 2.0})}),
                     flatten(einsum("bhqk,bhkd->bqhd", {scores, k})), diagonal(b, 1),
                     diagonal(b, -1), flatten(diagonal(q, 0, 2, 3))});
       }},
      {"rounding",
       [](const auto& x) {
         return floor(x[0] * 3.0) * x[0] + ceil(x[0] * 3.0) * x[1] + round(x[0] * 3.0) +
                lerp(x[0], x[1], 0.3) + lerp(x[0], x[1], sigmoid(x[1]));
       }},
  };
}

}  // namespace

namespace {

// A golden file that remembers which keys a test read: every key PyTorch wrote must be compared,
// so a key ember lacks (a parameter, an expression) fails the test instead of being skipped.
class Golden {
 public:
  explicit Golden(const std::string& file)
      : map_(load_safetensors(std::string(EMBER_GOLDEN_DIR) + "/" + file)) {}
  Tensor at(const std::string& key) {  // a handle: the golden's data, shared
    read_.insert(key);
    return map_.at(key);
  }
  size_t count(const std::string& key) const { return map_.count(key); }
  /// The keys never read, comma-separated (empty when every key was compared).
  std::string unread() const {
    std::string out;
    for (const auto& [key, value] : map_)
      if (!read_.count(key)) out += (out.empty() ? "" : ", ") + key;
    return out;
  }

 private:
  TensorMap map_;
  std::set<std::string> read_;
};

}  // namespace

TEST_CASE("composite expressions match PyTorch's outputs and gradients") {
  Golden golden("autograd.safetensors");
  for (const auto& [name, fn] : expressions()) {
    for (std::string tag : {"f64", "f32"}) {
      CAPTURE(name);
      CAPTURE(tag);
      double rtol = tag == "f64" ? 1e-12 : 1e-5, atol = tag == "f64" ? 1e-14 : 1e-6;
      std::string key = name + "." + tag + ".";
      std::vector<Tensor> inputs;
      for (int i = 0; golden.count(key + "in" + std::to_string(i)); ++i)
        inputs.push_back(golden.at(key + "in" + std::to_string(i)).requires_grad_());
      REQUIRE(!inputs.empty());
      Tensor out = fn(inputs);
      CHECK_CLOSE_ABS(out, golden.at(key + "out"), rtol, atol);
      out.backward(golden.at(key + "gout"));
      for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CHECK_CLOSE_ABS(inputs[i].grad(), golden.at(key + "grad" + std::to_string(i)), rtol, atol);
      }
    }
  }
  CHECK_MESSAGE(golden.unread().empty(), "golden keys never compared: ", golden.unread());
}

// tools/make_random_goldens.py: PyTorch's numbers for the same seeds. Equal bit for bit (values()
// is exact for float32 and int64), except randn's float32 fill of 1000, which PyTorch computes
// with vectorised log/sin/cos (a few ulps apart).
TEST_CASE("random numbers, initial weights and shuffles are PyTorch's for the same seed") {
  using testing::values;
  Golden golden("random.safetensors");
  auto same = [&](const std::string& key, const Tensor& ours) {
    INFO(key);
    CHECK(ours.dtype() == golden.at(key).dtype());
    CHECK(values(ours) == values(golden.at(key)));
  };
  manual_seed(0);
  same("rand_f32", rand({1000}));
  same("rand_f64", rand({100}, kFloat64));
  same("randn_f32_small", randn({7}));
  same("randn_f64", randn({1000}, kFloat64));
  same("randn_f64_small", randn({5}, kFloat64));
  Tensor fill = randn({1000});
  CHECK_CLOSE_ABS(fill, golden.at("randn_f32"), 1e-6, 1e-6);
  same("randint", randint(3, 10, {100}));
  same("randint_wide", randint(0, int64_t{1} << 40, {10}));
  same("randperm", randperm(1000));
  Tensor u = empty({3, 4});
  uniform_(u, -0.3, 0.7);
  same("uniform", u);
  Tensor n = empty({37}, kFloat64);
  normal_(n, 2.0, 0.5);
  same("normal", n);

  manual_seed(1);
  std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>> modules = {
      {"linear", nn::Linear(20, 5)},
      {"conv", nn::Conv2d(nn::Conv2dConfig{.in_channels = 3, .out_channels = 8, .kernel_size = 3})},
      {"mha", nn::MultiheadAttention(nn::TokenAttentionConfig{.embed_dim = 16, .num_heads = 4})},
      {"conv_transpose", nn::ConvTranspose2d(nn::ConvTranspose2dConfig{
                             .in_channels = 4, .out_channels = 6, .kernel_size = 3, .groups = 2})}};
  for (auto& [name, module] : modules)
    for (auto& [key, value] : module->state_dict()) same("module." + name + "." + key, value);

  manual_seed(0);  // the main job's model: every float tensor's bytes, by CRC-32
  for (auto& [key, value] : examples::FashionNet("efficient").state_dict()) {
    if (value.dtype() != kFloat32) continue;
    INFO(key);
    Tensor dense = value.contiguous();
    auto crc =
        static_cast<int64_t>(crc32(0, reinterpret_cast<const Bytef*>(dense.data_ptr<float>()),
                                   static_cast<uInt>(dense.numel() * sizeof(float))));
    CHECK(values(golden.at("fashionnet." + key)) ==
          std::vector<double>{double(crc), double(dense.numel())});
  }

  auto samples = std::make_shared<data::TensorDataset>(arange(50), arange(50));
  data::DataLoader loader(samples, {.batch_size = 50, .shuffle = true, .seed = 3});
  for (int epoch : {0, 1, 2, 1, 0}) {  // consecutive epochs and jumps back give the same orders
    loader.start_epoch(epoch);
    same("loader_epoch" + std::to_string(epoch), loader.next()->targets);
  }
  // Seeds past 32 bits use their low 32 bits, as PyTorch's generator does.
  manual_seed((uint64_t{1} << 32) + 5);
  same("seed_2pow32_plus5.rand", rand({8}));
  same("seed_2pow32_plus5.randn_f64", randn({20}, kFloat64));
  // Embedding's N(0, 1) fill of 80 float32 values: PyTorch's vectorised float32 normal, a few
  // ulps from ember's (the README says so); LayerNorm and BatchNorm2d: exact constants.
  manual_seed(4);
  nn::Embedding embedding({.num_embeddings = 10, .embedding_dim = 8});
  CHECK_CLOSE_ABS(embedding->weight, golden.at("module.embedding.weight"), 1e-6, 1e-6);
  std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>> constant_init = {
      {"layer_norm", nn::LayerNorm(nn::LayerNormConfig{.normalized_shape = {6}})},
      {"batch_norm", nn::BatchNorm2d(3)}};
  for (auto& [name, module] : constant_init)
    for (auto& [key, value] : module->state_dict()) same("module." + name + "." + key, value);
  // DistributedSampler: PyTorch's shards, padded (or cut) as PyTorch pads them.
  for (bool drop_last : {false, true})
    for (int64_t rank = 0; rank < 3; ++rank) {
      data::DistributedSampler sampler(
          10, {.num_replicas = 3, .rank = rank, .seed = 4, .drop_last = drop_last});
      for (int64_t epoch : {0, 1}) {
        auto shard = sampler.indices(epoch);
        CHECK(static_cast<int64_t>(shard.size()) == sampler.num_samples());
        same("sampler.drop" + std::to_string(drop_last) + ".rank" + std::to_string(rank) +
                 ".epoch" + std::to_string(epoch),
             from_vector(shard, {static_cast<int64_t>(shard.size())}));
      }
    }
  // trunc_normal_: PyTorch's uniform draws, then erfinv (PyTorch's in the tensor's dtype).
  manual_seed(5);
  Tensor tn32 = empty({1000}), tn64 = empty({300}, kFloat64);
  nn::init::trunc_normal_(tn32, 0.0, 0.02, -0.04, 0.04);
  nn::init::trunc_normal_(tn64, 1.0, 2.0, 0.0, 3.0);
  CHECK_CLOSE_ABS(tn32, golden.at("trunc_normal_f32"), 1e-6, 1e-8);
  CHECK_CLOSE_ABS(tn64, golden.at("trunc_normal_f64"), 1e-12, 1e-12);
  CHECK_MESSAGE(golden.unread().empty(), "golden keys never compared: ", golden.unread());
}
