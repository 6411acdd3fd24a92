// Optimizer and scheduler state read from a checkpoint is untrusted: options pass the
// constructor's rules, state tensors must fit their parameters, keys must parse, and a load that
// fails changes nothing. Schedulers resumed mid-run keep their base rate (initial_lr) and follow
// the uninterrupted run exactly.
#include <cmath>
#include <functional>

#include "helpers.h"

using namespace ember;
using ember::testing::values;

namespace {

// A small least-squares problem; every step gives every parameter a gradient.
struct Problem {
  Generator gen{11};
  Tensor w = randn({3, 2}, kFloat32, &gen).requires_grad_();
  Tensor b = randn({2}, kFloat32, &gen).requires_grad_();
  Tensor x = randn({5, 3}, kFloat32, &gen), y = randn({5, 2}, kFloat32, &gen);
  void step(optim::Optimizer& opt) {
    opt.zero_grad();
    sum(pow(matmul(x, w) + b - y, 2.0)).backward();
    opt.step();
  }
};

// Every entry of two state_dicts, bit for bit.
bool same_state(const TensorMap& a, const TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, t] : a)
    if (!b.count(k) || values(t) != values(b.at(k))) return false;
  return true;
}

// Loads `dict` into `opt`, expects an Error containing `message`, and checks that the
// optimizer's state is what it was.
void refused(optim::Optimizer& opt, const TensorMap& dict, const std::string& message) {
  CAPTURE(message);
  TensorMap before = opt.state_dict();
  CHECK_THROWS_WITH_AS(opt.load_state_dict(dict), doctest::Contains(message.c_str()), Error);
  CHECK(same_state(before, opt.state_dict()));
}

TensorMap with(TensorMap dict, const std::string& key, const Tensor& value) {
  dict[key] = value;
  return dict;
}

TensorMap without(TensorMap dict, const std::string& key) {
  dict.erase(key);
  return dict;
}

}  // namespace

TEST_CASE("Adam's state from a file is checked against each parameter before anything changes") {
  Problem p;
  optim::Adam adam({p.w, p.b}, {.lr = 1e-2});
  for (int i = 0; i < 2; ++i) p.step(adam);
  TensorMap good = adam.state_dict();
  // The example: exp_avg of shape [1] made Adam's step write past the buffer.
  refused(adam, with(good, "state.0.exp_avg", zeros({1})),
          "state.0.exp_avg is float32 [1] but its parameter is float32 [3, 2]");
  refused(adam, with(good, "state.1.exp_avg_sq", zeros({2}, kFloat64)),
          "state.1.exp_avg_sq is float64 [2] but its parameter is float32 [2]");
  refused(adam, without(good, "state.0.exp_avg_sq"), "state.0 has no exp_avg_sq");
  refused(adam, without(good, "state.1.step"), "state.1 has no step");
  refused(adam, with(good, "state.0.momentum_buffer", zeros({3, 2})),
          "state.0.momentum_buffer is not state this optimizer keeps");
  refused(adam, with(good, "state.0.exp_avg", full({3, 2}, NAN)),
          "state.0.exp_avg holds NaN or infinite values");
  refused(adam, with(good, "state.0.step", scalar_tensor(-1.0, kFloat64)), "state.0.step is -1");
  refused(adam, with(good, "state.0.step", scalar_tensor(2.5, kFloat64)), "not a step count");
  refused(adam, with(good, "state.0.step", zeros({2}, kFloat64)), "must be a float64 scalar");
  // Options pass the constructor's rules: NaN and beta1 = 1 trained silently to 10% before.
  refused(adam, with(good, "param_groups.0.lr", scalar_tensor(NAN, kFloat64)), "invalid lr nan");
  refused(adam, with(good, "param_groups.0.beta1", scalar_tensor(1.0, kFloat64)),
          "param_groups.0: Adam: invalid beta1 1 (expected a finite value in [0, 1))");
  refused(adam, with(good, "param_groups.0.eps", scalar_tensor(-1e-8, kFloat64)), "invalid eps");
  refused(adam, with(good, "param_groups.0.amsgrad", scalar_tensor(0.5, kFloat64)),
          "option amsgrad must be 0 or 1");
  refused(adam, with(good, "param_groups.0.amsgrad", scalar_tensor(1.0, kFloat64)),
          "state.0 has no max_exp_avg_sq");
  refused(adam, with(good, "param_groups.0.lr", zeros({2}, kFloat64)),
          "param_groups.0.lr must be one floating-point value");
  refused(adam, without(good, "param_groups.0.beta2"), "param_groups.0.beta2 is missing");
  refused(adam, with(good, "param_groups.0.momentum", scalar_tensor(0.9, kFloat64)),
          "does not fit this Adam");
  // Keys must parse: no std::stoul exception, no out-of-range index.
  for (const char* key : {"state.abc.exp_avg", "state.0", "state.-1.exp_avg", "state.1x.step",
                          "param_groups..lr", "weights.0.lr", "state.0."})
    refused(adam, with(good, key, zeros({})), "is not 'param_groups.<group>.<option>'");
  refused(adam, with(good, "state.2.exp_avg", zeros({2})), "names parameter 2 of 2");
  refused(adam, with(good, "param_groups.1.lr", scalar_tensor(1e-3, kFloat64)),
          "does not fit this Adam (1 groups");
  // The good state still loads, and training continues from it.
  adam.load_state_dict(good);
  CHECK(same_state(good, adam.state_dict()));
  p.step(adam);
}

TEST_CASE("SGD and RMSprop state and options are checked the same way") {
  Problem p;
  optim::SGD sgd({p.w, p.b}, {.lr = 0.1, .momentum = 0.9});
  p.step(sgd);
  TensorMap good = sgd.state_dict();
  refused(sgd, with(good, "state.0.momentum_buffer", zeros({3})),
          "state.0.momentum_buffer is float32 [3]");
  refused(sgd,
          with(with(good, "param_groups.0.nesterov", scalar_tensor(1.0, kFloat64)),
               "param_groups.0.dampening", scalar_tensor(0.1, kFloat64)),
          "nesterov momentum requires a momentum and zero dampening");
  refused(sgd, with(good, "param_groups.0.weight_decay", scalar_tensor(-1.0, kFloat64)),
          "invalid weight_decay -1");
  optim::RMSprop rms({p.w, p.b}, {.lr = 0.01, .momentum = 0.5, .centered = true});
  p.step(rms);
  good = rms.state_dict();
  refused(rms, without(good, "state.1.grad_avg"), "state.1 has no grad_avg");
  refused(rms, without(good, "state.0.momentum_buffer"), "state.0 has no momentum_buffer");
  refused(rms, with(good, "param_groups.0.alpha", scalar_tensor(INFINITY, kFloat64)),
          "invalid alpha inf");
}

TEST_CASE("the constructors refuse what load_state_dict refuses") {
  Problem p;
  CHECK_THROWS_WITH_AS(optim::Adam({p.w}, {.lr = NAN}), doctest::Contains("Adam: invalid lr nan"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::AdamW({p.w}, {.beta2 = 1.0}),
                       doctest::Contains("AdamW: invalid beta2 1"), Error);
  CHECK_THROWS_WITH_AS(optim::SGD({p.w}, {.lr = -0.1}), doctest::Contains("SGD: invalid lr -0.1"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::RMSprop({p.w}, {.eps = NAN}),
                       doctest::Contains("RMSprop: invalid eps nan"), Error);
  optim::Adam adam({p.w}, {.lr = 1e-3});
  CHECK_THROWS_WITH_AS(adam.add_param_group({p.b}, {{"lr", INFINITY}}),
                       doctest::Contains("Adam: invalid lr inf"), Error);
}

TEST_CASE("a scheduler resumed mid-run keeps its base rate and follows the uninterrupted run") {
  using Make = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
  std::vector<std::pair<const char*, Make>> schedules{
      {"StepLR", [](auto& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); }},
      {"MultiStepLR",
       [](auto& o) {
         return std::make_unique<optim::MultiStepLR>(o, std::vector<int64_t>{2, 6});
       }},
      {"CosineAnnealingLR",
       [](auto& o) { return std::make_unique<optim::CosineAnnealingLR>(o, 8, 1e-3); }},
      {"LinearLR", [](auto& o) { return std::make_unique<optim::LinearLR>(o, 0.25, 1.0, 6); }},
      {"LambdaLR",
       [](auto& o) {
         return std::make_unique<optim::LambdaLR>(o, [](int64_t e) { return 1.0 / (1 + e); });
       }},
      {"OneCycleLR", [](auto& o) { return std::make_unique<optim::OneCycleLR>(o, 0.1, 10); }},
      {"ExponentialLR", [](auto& o) { return std::make_unique<optim::ExponentialLR>(o, 0.7); }}};
  constexpr int kEpochs = 10, kStop = 4;
  for (const auto& [name, make] : schedules) {
    std::string schedule_name = name;
    CAPTURE(schedule_name);
    // Uninterrupted: the rates used and the final parameters.
    Problem whole;
    optim::SGD sgd({whole.w, whole.b}, {.lr = 0.05, .momentum = 0.9});
    auto schedule = make(sgd);
    std::vector<double> rates;
    for (int e = 0; e < kEpochs; ++e) {
      rates.push_back(sgd.param_groups()[0].options.at("lr"));
      whole.step(sgd);
      schedule->step();
    }
    // Interrupted after kStop epochs; resumed as a checkpoint is: a new optimizer from the same
    // options, its state loaded, then the scheduler, placed at the epoch reached.
    Problem part;
    TensorMap saved, saved_schedule;
    {
      optim::SGD first({part.w, part.b}, {.lr = 0.05, .momentum = 0.9});
      auto s = make(first);
      for (int e = 0; e < kStop; ++e) {
        part.step(first);
        s->step();
      }
      saved = first.state_dict();
      saved_schedule = s->state_dict();
    }
    CHECK(saved_schedule.at("last_epoch").item<double>() == kStop);
    CHECK(saved.count("param_groups.0.initial_lr"));
    optim::SGD resumed({part.w, part.b}, {.lr = 0.05, .momentum = 0.9});
    resumed.load_state_dict(saved);
    auto s = make(resumed);
    s->load_state_dict(saved_schedule);
    for (int e = kStop; e < kEpochs; ++e) {
      CHECK(resumed.param_groups()[0].options.at("lr") == rates[e]);
      part.step(resumed);
      s->step();
    }
    CHECK(values(part.w) == values(whole.w));
    CHECK(values(part.b) == values(whole.b));
  }
}

TEST_CASE("a scheduler's state_dict is checked: its arguments, its keys, its counters") {
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD sgd({p}, {.lr = 0.1});
  TensorMap saved = optim::StepLR(sgd, 3, 0.5).state_dict();
  CHECK_THROWS_WITH_AS(optim::StepLR(sgd, 3, 0.1).load_state_dict(saved),
                       "StepLR.load_state_dict: the state was saved with gamma 0.5, this scheduler "
                       "has 0.1; construct it with the arguments it was saved with",
                       Error);
  TensorMap extra = saved;
  extra["warmup"] = zeros({});
  CHECK_THROWS_WITH_AS(optim::StepLR(sgd, 3, 0.5).load_state_dict(extra),
                       "StepLR.load_state_dict: unknown key 'warmup'", Error);
  saved["last_epoch"] = full({}, -2.0, kFloat64);
  CHECK_THROWS_WITH_AS(optim::StepLR(sgd, 3, 0.5).load_state_dict(saved),
                       "StepLR.load_state_dict: 'last_epoch' must be a count, got -2", Error);
}

TEST_CASE("ReduceLROnPlateau resumed from its state_dict follows the uninterrupted run") {
  std::vector<double> metrics{1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.8, 0.85, 0.86, 0.9, 0.91, 0.92};
  optim::ReduceLROnPlateauOptions options{.factor = 0.5, .patience = 1, .cooldown = 1};
  auto run = [&](size_t from, size_t to, optim::SGD& sgd, optim::ReduceLROnPlateau& s) {
    std::vector<double> lrs;
    for (size_t e = from; e < to; ++e) {
      s.step(metrics[e]);
      lrs.push_back(sgd.param_groups()[0].options.at("lr"));
    }
    return lrs;
  };
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD whole({p}, {.lr = 0.1});
  optim::ReduceLROnPlateau all(whole, options);
  std::vector<double> want = run(0, metrics.size(), whole, all);
  CHECK(want.back() < 0.1);
  optim::SGD first({p}, {.lr = 0.1});
  optim::ReduceLROnPlateau part(first, options);
  std::vector<double> got = run(0, 4, first, part);  // just reduced: in its cooldown
  TensorMap sgd_state = first.state_dict(), state = part.state_dict();
  optim::SGD second({p}, {.lr = 0.1});
  second.load_state_dict(sgd_state);
  optim::ReduceLROnPlateau resumed(second, options);
  resumed.load_state_dict(state);
  CHECK(resumed.best() == part.best());
  CHECK(resumed.num_bad_epochs() == part.num_bad_epochs());
  for (double lr : run(4, metrics.size(), second, resumed)) got.push_back(lr);
  CHECK(got == want);
  optim::ReduceLROnPlateau other(second, {.factor = 0.2});
  CHECK_THROWS_WITH_AS(other.load_state_dict(state),
                       doctest::Contains("saved with factor 0.5, this scheduler has 0.2"), Error);
}
