// The Optimizer base: parameter groups with their options, zero_grad, and state_dict /
// load_state_dict for checkpoints, which trusts nothing it reads. The update rules, each with
// the options and state it accepts: sgd.cpp, adam.cpp, rmsprop.cpp. Gradient clipping at the end.
// They follow PyTorch 1.13's single-tensor code step for step, in the parameter's dtype, so
// results match torch.optim to rounding.
#include "optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "../autograd/ops.h"
#include "../core/profiler.h"

namespace ember::optim {

Optimizer::Optimizer(const std::vector<Tensor>& params, Options defaults, OptimizerRules rules)
    : defaults_(std::move(defaults)), rules_(rules) {
  add_param_group(params);
}

Optimizer::Optimizer(const std::vector<OptimizerParamGroup>& groups, Options defaults,
                     OptimizerRules rules)
    : defaults_(std::move(defaults)), rules_(rules) {
  for (size_t g = 0; g < groups.size(); ++g) {
    const OptimizerParamGroup& group = groups[g];
    if (group.options) {
      for (const auto& [key, value] : defaults_)
        check(group.options->count(key), rules_.name, ": group ", g, "'s options lack '", key,
              "' (options of another optimizer?)");
      for (const auto& [key, value] : *group.options)
        check(defaults_.count(key), rules_.name, ": group ", g, " has option '", key, "', which ",
              rules_.name, " does not take (options of another optimizer?)");
    }
    add_param_group(group.params, group.options.value_or(Options{}));
  }
}

void Optimizer::add_param_group(const std::vector<Tensor>& params, const Options& overrides) {
  for (const Tensor& p : params) {
    if (!p.defined() || !p.is_leaf() || !p.requires_grad())
      fail("optimizer: can only optimize leaf tensors that require grad");
    if (!p.is_contiguous()) fail("optimizer: parameters must be contiguous");
  }
  ParamGroup group{params, defaults_};
  for (const auto& [key, value] : overrides) {
    if (!defaults_.count(key)) fail("optimizer: unknown option '", key, "'");
    group.options[key] = value;
  }
  rules_.check_options(group.options);
  groups_.push_back(std::move(group));
  state_.resize(state_.size() + params.size());
}

void Optimizer::zero_grad(bool set_to_none) {
  profiler::Scope scope("Optimizer.zero_grad");
  NoGradGuard no_grad;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) {
      if (set_to_none)
        p.set_grad(Tensor());
      else if (p.grad().defined())
        p.grad().zero_();
    }
}

State& Optimizer::state(size_t i) { return state_.at(i); }

TensorMap Optimizer::state_dict() const {
  TensorMap out;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (const auto& [key, value] : groups_[g].options)
      out.emplace("param_groups." + std::to_string(g) + "." + key, scalar_tensor(value, kFloat64));
  for (size_t i = 0; i < state_.size(); ++i)
    for (const auto& [key, t] : state_[i]) out.emplace("state." + std::to_string(i) + "." + key, t);
  return out;
}

namespace {

// A state_dict key "<kind>.<index>.<name>", index a plain decimal number.
struct Key {
  std::string kind, name;
  size_t index = 0;
};

Key parse_key(const std::string& key) {
  auto bad = [&] {
    fail("optimizer.load_state_dict: key '", key,
         "' is not 'param_groups.<group>.<option>' or 'state.<parameter>.<name>'");
  };
  size_t dot1 = key.find('.'), dot2 = dot1 == std::string::npos ? dot1 : key.find('.', dot1 + 1);
  if (dot2 == std::string::npos || dot2 + 1 == key.size()) bad();
  Key k{key.substr(0, dot1), key.substr(dot2 + 1)};
  const char* first = key.data() + dot1 + 1;
  const char* last = key.data() + dot2;
  auto [end, error] = std::from_chars(first, last, k.index);
  if (first == last || error != std::errc() || end != last) bad();
  if (k.kind != "param_groups" && k.kind != "state") bad();
  return k;
}

std::string option_names(const Options& options) {
  std::string names;
  for (const auto& [name, value] : options) names += (names.empty() ? "" : ", ") + name;
  return names;
}

}  // namespace

void Optimizer::load_state_dict(const TensorMap& dict) {
  const char* op = "optimizer.load_state_dict";
  std::vector<Options> options(groups_.size());
  std::vector<State> state(state_.size());
  for (const auto& [key, t] : dict) {
    Key k = parse_key(key);
    if (k.kind == "param_groups") {
      bool known = k.index < groups_.size() && (defaults_.count(k.name) || k.name == "initial_lr");
      if (!known)
        fail(op, ": key '", key, "' does not fit this ", rules_.name, " (", groups_.size(),
             " groups; options ", option_names(defaults_), ")");
      if (!t.defined() || t.numel() != 1 || !t.is_floating_point())
        fail(op, ": ", key, " must be one floating-point value, got ",
             t.defined() ? shape_str(t.sizes()) : std::string("undefined"));
      options[k.index][k.name] = t.item<double>();
    } else {
      if (k.index >= state.size())
        fail(op, ": key '", key, "' names parameter ", k.index, " of ", state.size());
      state[k.index][k.name] = t;
    }
  }
  size_t first = 0;  // the index of each group's first parameter
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::string where = "param_groups." + std::to_string(g);
    for (const auto& [name, value] : defaults_)
      if (!options[g].count(name)) fail(op, ": ", where, ".", name, " is missing");
    // initial_lr is a scheduler's: the file's when it has one, else the group's own (if any).
    auto current = groups_[g].options.find("initial_lr");
    if (!options[g].count("initial_lr") && current != groups_[g].options.end())
      options[g]["initial_lr"] = current->second;
    if (auto it = options[g].find("initial_lr");
        it != options[g].end() && !(std::isfinite(it->second) && it->second >= 0))
      fail(op, ": ", where, ".initial_lr is ", it->second, ", not a learning rate");
    try {
      rules_.check_options(options[g]);
    } catch (const Error& e) {
      fail(op, ": ", where, ": ", e.what());
    }
    for (size_t i = 0; i < groups_[g].params.size(); ++i)
      rules_.check_state(options[g], groups_[g].params[i], state[first + i],
                         "state." + std::to_string(first + i));
    first += groups_[g].params.size();
  }
  // Everything checked: only now does anything change. State is copied, never shared.
  for (State& s : state)
    for (auto& [name, t] : s) t = clone(t.detach());
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options = options[g];
  state_ = std::move(state);
}

}  // namespace ember::optim
