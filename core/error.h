// ember::Error, the one exception type a user's mistake produces, and the helpers that build
// its messages ("matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)").
// Read next: shape.h, which prints shapes for these messages.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ember {

/// Thrown for every failure a user can cause: bad shapes, dtypes, dims, indices, files.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

/// Throws ember::Error with the parts streamed together: fail("sum: dim ", d, " out of range").
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

/// Throws ember::Error unless `condition` holds; the message is only built on failure.
template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace ember
