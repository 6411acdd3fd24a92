// The one element loop every update rule (sgd.cpp, adam.cpp, rmsprop.cpp) runs: a parameter's
// elements split over threads in chunks, and the rule's variants (weight decay or not, momentum
// or not, ...) made template arguments once per call, so each chunk is a loop without a branch
// that the compiler vectorises. Elementwise, so any split gives the same bits. Not public API.
// Read next: adam.cpp, the rule that uses most variants.
#pragma once

#include <cstdint>

#include "../core/parallel.h"

namespace ember::optim::detail {

/// Elements per chunk: enough to pay for a thread.
inline constexpr int64_t kUpdateGrain = int64_t{1} << 15;

/// Calls f.template operator()<Flags...>() with the runtime flags as template arguments:
///   with_flags([&]<bool decay, bool momentum>() { ... }, wd != 0, mom != 0);
template <bool... Known, typename F>
void with_flags(F&& f) {
  f.template operator()<Known...>();
}
template <bool... Known, typename F, typename... Rest>
void with_flags(F&& f, bool first, Rest... rest) {
  if (first)
    with_flags<Known..., true>(f, rest...);
  else
    with_flags<Known..., false>(f, rest...);
}

/// Runs update.template operator()<Flags...>(lo, hi) over the chunks of [0, n), in parallel,
/// with `flags` as its template arguments:
///   update_elements(p.numel(), [&]<bool decay>(int64_t lo, int64_t hi) { ... }, wd != 0);
template <typename Update, typename... Flags>
void update_elements(int64_t n, Update&& update, Flags... flags) {
  with_flags(
      [&]<bool... F>() {
        parallel_for(0, n, kUpdateGrain,
                     [&](int64_t lo, int64_t hi) { update.template operator()<F...>(lo, hi); });
      },
      flags...);
}

}  // namespace ember::optim::detail
