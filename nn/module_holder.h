// ModuleHolder: libtorch's module handle. Each layer is a plain class, LinearImpl, and its handle
// nn::Linear is ModuleHolder<LinearImpl>, a shared pointer with the layer's constructors:
//   nn::Linear fc(784, 10);          // std::make_shared<LinearImpl>(784, 10)
//   fc->weight; fc(x); fc->forward(x);
//   nn::Linear head{nullptr};        // empty, for a member assigned in the constructor body
//   head = register_module("head", nn::Linear(128, 10));
// Copies share the module, as copies of a shared_ptr do; a handle converts to the shared_ptr of
// the module or of any base (std::shared_ptr<Module>), so containers and register_module take
// either. A module of your own: struct NetImpl : nn::Module {...}; using Net =
// ModuleHolder<NetImpl>; (libtorch's TORCH_MODULE(Net) macro writes the same). Read next:
// nn/layers.h.
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "../core/error.h"
#include "../core/profiler.h"

namespace ember::nn {

template <typename Impl>
class ModuleHolder;

namespace detail {
/// The aggregate a layer keeps as `options` (LinearConfig for LinearImpl), or NoConfig.
struct NoConfig {};
template <typename Impl>
struct config_of {
  using type = NoConfig;
};
template <typename Impl>
requires requires(Impl& m) { m.options; }
struct config_of<Impl> {
  using type = std::remove_cvref_t<decltype(std::declval<Impl&>().options)>;
};
/// Arguments that make a new Impl: its constructor takes them, and they are not one handle
/// (which the copy constructor takes instead).
template <typename Impl, typename... A>
concept MakesModule = std::is_constructible_v<Impl, A...> &&
    !(sizeof...(A) == 1 && (std::is_same_v<std::remove_cvref_t<A>, ModuleHolder<Impl>> || ...));
/// Throws the error for a call through an empty handle.
[[noreturn]] void fail_empty_holder(const std::type_info& impl);
}  // namespace detail

template <typename Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;
  using Config = typename detail::config_of<Impl>::type;

  /// An empty handle; using it before a module is assigned is an ember::Error.
  ModuleHolder(std::nullptr_t) {}  // NOLINT: libtorch's nn::Linear fc{nullptr}
  /// A new module from the layer's constructor arguments (none: its defaults).
  template <typename... A>
  requires detail::MakesModule<Impl, A...>
  explicit ModuleHolder(A&&... args) : impl_(std::make_shared<Impl>(std::forward<A>(args)...)) {}
  /// A new module from its aggregate options: nn::Conv2d({.in_channels = 1, ...}).
  ModuleHolder(const Config& config) requires(!std::is_same_v<Config, detail::NoConfig>)  // NOLINT
      : impl_(std::make_shared<Impl>(config)) {}
  /// Shares a module made elsewhere.
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT

  Impl* operator->() const { return &checked(); }
  Impl& operator*() const { return checked(); }
  Impl* get() const { return &checked(); }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return !is_empty(); }
  /// The module as a shared_ptr of its own type or of a base, std::shared_ptr<Module> say.
  template <typename T>
  requires std::is_convertible_v<Impl*, T*>
  operator std::shared_ptr<T>() const {  // NOLINT: converts as the shared_ptr would
    return impl_;
  }

  /// Indexes the module as its operator[] does (a Sequential's children, say).
  template <typename K>
  decltype(auto) operator[](K&& key) const {
    return checked()[std::forward<K>(key)];
  }

  /// Calls the module's forward with these arguments, as libtorch's handle does (a module of
  /// your own may declare forward(Tensor) or any other signature); a profile shows the call
  /// under the module's name.
  template <typename... A>
  decltype(auto) operator()(A&&... args) const {
    Impl& module = checked();
    profiler::Scope scope(module.name());
    return module.forward(std::forward<A>(args)...);
  }

 private:
  Impl& checked() const {
    if (!impl_) detail::fail_empty_holder(typeid(Impl));
    return *impl_;
  }
  std::shared_ptr<Impl> impl_;
};

template <typename Impl>
std::ostream& operator<<(std::ostream& out, const ModuleHolder<Impl>& module) {
  return out << *module;
}

}  // namespace ember::nn
