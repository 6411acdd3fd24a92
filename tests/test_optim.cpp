// optim/: every optimizer over 10 steps against torch.optim (1e-6 relative to the parameters'
// scale in float32: the loss gradients themselves differ from PyTorch's by rounding), every
// scheduler's learning-rate sequence against torch.optim.lr_scheduler, state_dict round trips,
// parameter groups and gradient clipping.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "helpers.h"

using namespace ember;
using ember::testing::values;

namespace {

TensorMap golden() { return testing::golden_file("optim.safetensors"); }

using Factory = std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>&)>;

std::map<std::string, Factory> optimizers() {
  using namespace optim;
  return {
      {"sgd", [](const auto& p) { return std::make_unique<SGD>(p, SGDConfig{.lr = 0.05}); }},
      {"sgd_momentum",
       [](const auto& p) {
         return std::make_unique<SGD>(
             p, SGDConfig{.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
       }},
      {"sgd_nesterov",
       [](const auto& p) {
         return std::make_unique<SGD>(p, SGDConfig{.lr = 0.01, .momentum = 0.9, .nesterov = true});
       }},
      {"adam", [](const auto& p) { return std::make_unique<Adam>(p, AdamConfig{.lr = 0.01}); }},
      {"adam_amsgrad_wd",
       [](const auto& p) {
         return std::make_unique<Adam>(
             p, AdamConfig{
                    .lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"adamw",
       [](const auto& p) {
         return std::make_unique<AdamW>(p, AdamConfig{.lr = 0.01, .weight_decay = 0.05});
       }},
      {"rmsprop",
       [](const auto& p) { return std::make_unique<RMSprop>(p, RMSpropConfig{.lr = 0.01}); }},
      {"rmsprop_centered_momentum",
       [](const auto& p) {
         return std::make_unique<RMSprop>(p, RMSpropConfig{.lr = 0.01,
                                                           .alpha = 0.9,
                                                           .weight_decay = 0.01,
                                                           .momentum = 0.5,
                                                           .centered = true});
       }},
  };
}

Tensor problem_loss(const Tensor& w, const Tensor& b) {
  TensorMap g = golden();
  Tensor r = matmul(g.at("problem.x"), w) + b - g.at("problem.y");
  return sum(pow(r, 2.0));
}

// One optimizer step on the problem: zero the gradients, backward, step.
void step_problem(optim::Optimizer& opt, const Tensor& w, const Tensor& b) {
  opt.zero_grad();
  problem_loss(w, b).backward();
  opt.step();
}

}  // namespace

TEST_CASE("optimizers follow torch.optim step by step") {
  TensorMap g = golden();
  for (const auto& [name, make] : optimizers()) {
    CAPTURE(name);
    Tensor w = clone(g.at("problem.w0")).requires_grad_(),
           b = clone(g.at("problem.b0")).requires_grad_();
    auto opt = make({w, b});
    for (int step = 0; step < 10; ++step) {
      CAPTURE(step);
      step_problem(*opt, w, b);
      std::string key = name + ".step" + std::to_string(step) + ".";
      CHECK_CLOSE_ABS(w, g.at(key + "w"), 1e-6, 1e-6);  // parameters are of size ~1
      CHECK_CLOSE_ABS(b, g.at(key + "b"), 1e-6, 1e-6);
    }
  }
}

TEST_CASE("optimizer state_dict round trip continues to the same parameters") {
  TensorMap g = golden();
  for (const auto& [name, make] : optimizers()) {
    CAPTURE(name);
    Tensor w = clone(g.at("problem.w0")).requires_grad_(),
           b = clone(g.at("problem.b0")).requires_grad_();
    auto opt = make({w, b});
    for (int step = 0; step < 4; ++step) step_problem(*opt, w, b);
    // A second optimizer, restored from the first one's state and the parameters' values.
    Tensor w2 = clone(w.detach()).requires_grad_(), b2 = clone(b.detach()).requires_grad_();
    auto restored = make({w2, b2});
    restored->load_state_dict(opt->state_dict());
    for (int step = 0; step < 3; ++step) {
      step_problem(*opt, w, b);
      step_problem(*restored, w2, b2);
    }
    CHECK(values(w) == values(w2));
    CHECK(values(b) == values(b2));
  }
}

TEST_CASE("parameter groups carry their own options") {
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::SGD sgd({a}, {.lr = 0.1});
  sgd.add_param_group({b}, {{"lr", 1.0}});
  sum(a + b).backward();
  sgd.step();
  CHECK(values(a) == std::vector<double>{0.9f, 0.9f});
  CHECK(values(b) == std::vector<double>{0, 0});
  CHECK_THROWS_WITH_AS(sgd.add_param_group({zeros({1}).requires_grad_()}, {{"betas", 1.0}}),
                       "optimizer: unknown option 'betas'", Error);
  CHECK_THROWS_WITH_AS(optim::SGD({zeros({1})}, {}),
                       doctest::Contains("leaf tensors that require grad"), Error);
}

TEST_CASE("optimizers built from OptimizerParamGroups, as libtorch builds them") {
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<Tensor>{a});
  groups.emplace_back(std::vector<Tensor>{b},
                      std::make_unique<optim::SGDConfig>(optim::SGDConfig{.lr = 1.0}));
  optim::SGD sgd(groups, {.lr = 0.1, .momentum = 0.9});
  REQUIRE(sgd.param_groups().size() == 2);
  CHECK(sgd.param_groups()[0].options.at("momentum") == 0.9);  // the defaults
  CHECK(sgd.param_groups()[1].options.at("lr") == 1.0);        // the group's own, all of them:
  CHECK(sgd.param_groups()[1].options.at("momentum") == 0.0);  // no default leaks in
  sum(a + b).backward();
  sgd.step();
  CHECK(values(a) == std::vector<double>{0.9f, 0.9f});
  CHECK(values(b) == std::vector<double>{0, 0});
  optim::AdamW adamw({{std::vector<Tensor>{a}, optim::AdamConfig{.lr = 0.5}}});
  CHECK(adamw.param_groups()[0].options.at("lr") == 0.5);
  CHECK_THROWS_WITH_AS(optim::Adam(groups, optim::AdamConfig{}),
                       "Adam: group 1's options lack 'amsgrad' (options of another optimizer?)",
                       Error);
}

TEST_CASE("schedulers give torch.optim.lr_scheduler's learning rates") {
  TensorMap g = golden();
  using Make = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
  std::map<std::string, Make> schedulers{
      {"step_lr", [](auto& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); }},
      {"multistep_lr",
       [](auto& o) {
         return std::make_unique<optim::MultiStepLR>(o, std::vector<int64_t>{2, 5, 7}, 0.3);
       }},
      {"cosine_lr",
       [](auto& o) { return std::make_unique<optim::CosineAnnealingLR>(o, 10, 0.001); }},
      {"linear_lr", [](auto& o) { return std::make_unique<optim::LinearLR>(o, 0.25, 1.0, 4); }},
      {"onecycle_lr", [](auto& o) { return std::make_unique<optim::OneCycleLR>(o, 0.1, 20); }},
      {"lambda_lr",
       [](auto& o) {
         return std::make_unique<optim::LambdaLR>(o, [](int64_t e) {
           return std::min(1.0, (e + 1) / 4.0) * std::pow(0.8, std::max<int64_t>(0, e - 3));
         });
       }},
      {"exponential_lr", [](auto& o) { return std::make_unique<optim::ExponentialLR>(o, 0.8); }},
  };
  for (const auto& [name, make] : schedulers) {
    CAPTURE(name);
    Tensor p = zeros({1}).requires_grad_();
    optim::SGD sgd({p}, {.lr = 0.1});
    auto sched = make(sgd);
    std::vector<double> want = values(g.at(name + ".lr")), got;
    for (size_t epoch = 0; epoch < want.size(); ++epoch) {
      got.push_back(sgd.param_groups()[0].options.at("lr"));
      if (epoch + 1 < want.size()) sched->step();
    }
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
    }
  }
}

TEST_CASE("ReduceLROnPlateau reduces the rate where torch.optim.lr_scheduler's does") {
  TensorMap g = golden();
  using O = optim::ReduceLROnPlateauOptions;
  std::vector<std::pair<std::string, O>> cases{
      {"plateau_min",
       {.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = 0.01}},
      {"plateau_max_abs",
       {.mode = O::kMax,
        .factor = 0.3,
        .patience = 1,
        .threshold = 0.05,
        .threshold_mode = O::kAbs}}};
  for (const auto& [name, options] : cases) {
    CAPTURE(name);
    Tensor p = zeros({1}).requires_grad_();
    optim::SGD sgd({p}, {.lr = 0.1});
    optim::ReduceLROnPlateau plateau(sgd, options);
    std::vector<double> metrics = values(g.at(name + ".metric")), want = values(g.at(name + ".lr"));
    std::vector<double> got{sgd.param_groups()[0].options.at("lr")};
    for (double m : metrics) {
      plateau.step(m);
      got.push_back(plateau.get_last_lr()[0]);
    }
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
    }
  }
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD sgd({p}, {.lr = 0.1});
  CHECK_THROWS_WITH_AS(optim::ReduceLROnPlateau(sgd, {.factor = 1.0}),
                       "ReduceLROnPlateau: factor must be in [0, 1), got 1", Error);
}

TEST_CASE("OneCycleLR cycles SGD's momentum and Adam's beta1 as PyTorch does") {
  TensorMap g = golden();
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  optim::Adam adam({p}, {.lr = 0.1});
  std::vector<std::pair<std::string, optim::Optimizer*>> cases{{"onecycle_momentum_sgd", &sgd},
                                                               {"onecycle_momentum_adam", &adam}};
  for (auto& [name, opt] : cases) {
    CAPTURE(name);
    optim::OneCycleLR sched(*opt, 0.1, 15, {.pct_start = 0.4});
    std::string key = opt == &sgd ? "momentum" : "beta1";
    std::vector<double> lr = values(g.at(name + ".lr")),
                        momentum = values(g.at(name + ".momentum"));
    for (size_t epoch = 0; epoch < lr.size(); ++epoch) {
      CAPTURE(epoch);
      CHECK(opt->param_groups()[0].options.at("lr") == doctest::Approx(lr[epoch]).epsilon(1e-12));
      CHECK(opt->param_groups()[0].options.at(key) ==
            doctest::Approx(momentum[epoch]).epsilon(1e-12));
      if (epoch + 1 < lr.size()) sched.step();
    }
  }
  optim::SGD plain({p}, {.lr = 0.1});
  optim::OneCycleLR without(plain, 0.1, 15, {.cycle_momentum = false});
  CHECK(plain.param_groups()[0].options.at("momentum") == 0.0);
}

TEST_CASE("gradient clipping by norm and by value") {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({1}).requires_grad_();
  a.set_grad(tensor({3.0, 0.0}));
  b.set_grad(tensor({4.0}));
  double norm = optim::clip_grad_norm_({a, b}, 1.0);
  CHECK(norm == doctest::Approx(5.0));
  CHECK(values(a.grad())[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(values(b.grad())[0] == doctest::Approx(0.8).epsilon(1e-5));
  CHECK(optim::clip_grad_norm_({a, b}, 10.0, INFINITY) == doctest::Approx(0.8).epsilon(1e-5));
  optim::clip_grad_value_({a}, 0.5);
  CHECK(values(a.grad())[0] == 0.5);
}
