// Device names and the CPU check; see options.h.
#include "options.h"

#include <charconv>

#include "error.h"

namespace ember {

Device::Device(const std::string& name) : type_(kCPU), index_(-1) {
  std::string kind = name.substr(0, name.find(':'));
  if (kind == "cpu") {
    type_ = kCPU;
  } else if (kind == "cuda") {
    type_ = kCUDA;
  } else {
    fail("Device: expected cpu, cuda or cuda:N, got '", name, "'");
  }
  if (kind.size() == name.size()) return;
  std::string digits = name.substr(kind.size() + 1);
  int index = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  check(ec == std::errc() && end == digits.data() + digits.size() && index >= 0 && index < 128,
        "Device: expected a device index after ':', got '", name, "'");
  index_ = static_cast<int8_t>(index);
}

std::string Device::str() const {
  std::string s = is_cpu() ? "cpu" : "cuda";
  return has_index() ? s + ":" + std::to_string(index_) : s;
}

std::ostream& operator<<(std::ostream& out, const Device& device) { return out << device.str(); }

void check_cpu(const Device& device, const char* op) {
  check(device.is_cpu(), op, ": ember runs on the CPU only; got device ", device.str(),
        " (cuda::is_available() is false)");
}

}  // namespace ember
