// What a libtorch prototype reaches for after its layers: ModuleDict, ParameterList,
// Module::apply, Sequential from a list of handles, InferenceMode, nn::utils's clipping,
// init::orthogonal_, and save/load of tensors, modules and optimizers.
#include <filesystem>
#include <map>

#include "helpers.h"
#include "programs.h"

using namespace ember;

TEST_CASE("ModuleDict and ParameterList name their entries as PyTorch does") {
  auto dict =
      nn::ModuleDict(std::initializer_list<std::pair<std::string, std::shared_ptr<nn::Module>>>{
          {"encoder", nn::Linear(nn::LinearConfig{4, 3})},
          {"decoder", nn::Linear(nn::LinearConfig{3, 4})}});
  CHECK(dict->keys() == std::vector<std::string>{"encoder", "decoder"});
  CHECK(dict->contains("decoder"));
  CHECK((*dict)["encoder"]->name() == "Linear");
  dict->insert("encoder", nn::Linear(nn::LinearConfig{4, 2}));
  CHECK(dict->size() == 2);
  CHECK(shape_of(dict->state_dict().at("encoder.weight")) == Shape{2, 4});
  CHECK_THROWS_WITH_AS((*dict)["middle"], "ModuleDict: no module named 'middle'", Error);

  nn::ParameterList list(std::vector<Tensor>{zeros({2}), ones({3, 1})});
  list->append(zeros({5}));
  CHECK(list->size() == 3);
  CHECK(list[1].requires_grad());
  CHECK(shape_of(list->state_dict().at("2")) == Shape{5});
  CHECK_THROWS_WITH_AS(list[3], "ParameterList: index 3 out of range for 3 parameters", Error);
}

TEST_CASE("Module::apply visits the module and every descendant, parents first") {
  auto lin = nn::Linear(nn::LinearConfig{2, 2});
  nn::Sequential seq(lin, nn::ReLU(),
                     nn::Sequential(nn::Linear(nn::LinearConfig{2, 1}), nn::Identity()));
  std::vector<std::string> seen;
  seq->apply(
      [&](const std::string& name, nn::Module& m) { seen.push_back(name + ":" + m.name()); });
  CHECK(seen == std::vector<std::string>{":Sequential", "0:Linear", "1:ReLU", "2:Sequential",
                                         "2.0:Linear", "2.1:Identity"});
  // The common use: initialise every Linear.
  seq->apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<nn::LinearImpl*>(&m)) l->weight.detach().fill_(0.5);
  });
  CHECK(lin->weight.sum().item<double>() == 2.0);
}

TEST_CASE("InferenceMode records nothing; nn::utils clips as optim's clipping") {
  Tensor w = ones({2}).requires_grad_();
  {
    InferenceMode guard;
    CHECK(!(w * 2.0).requires_grad());
  }
  {
    InferenceMode off(false);
    CHECK((w * 2.0).requires_grad());
  }
  w.set_grad(tensor({3.0f, 4.0f}));
  CHECK(nn::utils::clip_grad_norm_({w}, 1.0) == doctest::Approx(5.0));
  CHECK(testing::values(w.grad())[0] == doctest::Approx(0.6).epsilon(1e-5));
}

TEST_CASE("init::orthogonal_ gives torch.nn.init.orthogonal_'s matrix for the same seed") {
  TensorMap g = testing::golden_file("nn.safetensors");
  manual_seed(41);
  Tensor wide = empty({3, 5}, kFloat64), tall = empty({6, 2, 2}, kFloat64);
  nn::init::orthogonal_(wide, 2.0);
  nn::init::orthogonal_(tall);
  CHECK_CLOSE_ABS(wide, g.at("init.orthogonal_wide"), 1e-12, 1e-12);
  CHECK_CLOSE_ABS(tall, g.at("init.orthogonal_tall"), 1e-12, 1e-12);
  // Independently of PyTorch: the rows of the wide matrix are orthogonal, of length 2.
  CHECK_CLOSE_ABS(matmul(wide, wide.t()), eye(3, -1, kFloat64) * 4.0, 1e-12, 1e-12);
  Tensor flat = tall.view({6, 4});
  CHECK_CLOSE_ABS(matmul(flat.t(), flat), eye(4, -1, kFloat64), 1e-12, 1e-12);
  CHECK_THROWS_WITH_AS(nn::init::orthogonal_(zeros({3})),
                       "orthogonal_: expected a tensor of 2 or more dims, got [3]", Error);
}

TEST_CASE("save and load as libtorch spells them: a tensor, a list, a module, an optimizer") {
  namespace fs = std::filesystem;
  fs::path dir = testing::scratch("serialize");
  Tensor x = randn({2, 3}, kFloat64);
  ember::save(x, (dir / "x").string());
  Tensor y;
  ember::load(y, (dir / "x").string());
  CHECK(testing::values(y) == testing::values(x));
  std::vector<Tensor> list{ones({2}), arange(5)}, back;
  ember::save(list, (dir / "list").string());
  ember::load(back, (dir / "list").string());
  REQUIRE(back.size() == 2);
  CHECK(back[1].dtype() == kInt64);
  CHECK(testing::values(back[1]) == testing::values(list[1]));

  auto model = nn::Linear(3, 2);
  optim::Adam adam(model->parameters(), {.lr = 0.1});
  (*model)(ones({4, 3})).sum().backward();
  adam.step();
  ember::save(model, (dir / "model").string());
  ember::save(adam, (dir / "adam").string());
  auto other = nn::Linear(3, 2);
  optim::Adam other_adam(other->parameters(), {.lr = 0.1});
  ember::load(other, (dir / "model").string());
  ember::load(other_adam, (dir / "adam").string());
  CHECK(testing::values(other->weight) == testing::values(model->weight));
  CHECK(testing::values(other_adam.state_dict().at("state.0.exp_avg")) ==
        testing::values(adam.state_dict().at("state.0.exp_avg")));
  // A file of one kind is refused as another, naming it.
  CHECK_THROWS_WITH_AS(ember::load(y, (dir / "model").string()),
                       doctest::Contains("holds a module, not a tensor"), Error);
  CHECK_THROWS_WITH_AS(ember::load(other, (dir / "x").string()),
                       doctest::Contains("holds a tensor, not a module"), Error);
  fs::remove_all(dir);
}
