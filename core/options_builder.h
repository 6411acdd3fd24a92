// OptionsBuilder: what libtorch's option builders (nn::Conv2dOptions, optim::AdamOptions,
// data::DataLoaderOptions) share. Each fills the aggregate ember's own code fills with designated
// initialisers, one chained setter per field, and converts to it, so a layer, an optimizer or a
// loader takes either spelling.
// Read next: nn/options.h.
#pragma once

namespace ember {

/// What every builder shares: the aggregate it fills, and the conversion the layers take.
template <typename Self, typename Config>
class OptionsBuilder {
 public:
  operator const Config&() const { return config_; }  // NOLINT: a layer takes the builder
  const Config& config() const { return config_; }

 protected:
  template <typename Field, typename Value>
  Self& set(Field Config::*field, Value value) {
    config_.*field = Field(value);
    return static_cast<Self&>(*this);
  }
  Config config_;
};

}  // namespace ember
