// The capability choice; see capability.h.
#include "capability.h"

#include <cstdlib>
#include <cstring>

#include "../error.h"

namespace ember::kernels {

const char* name(Capability c) {
  switch (c) {
    case Capability::avx512: return "avx512";
    case Capability::avx2: return "avx2";
    case Capability::baseline: break;
  }
  return "default";
}

Capability capability_for(const blas::CpuFeatures& cpu, const char* user_setting) {
  Capability best = Capability::baseline;
  if (cpu.avx2 && cpu.fma) best = Capability::avx2;
  if (best == Capability::avx2 && cpu.avx512f && cpu.avx512dq && cpu.avx512bw && cpu.avx512vl)
    best = Capability::avx512;
  if (user_setting == nullptr || *user_setting == '\0') return best;
  Capability asked = Capability::baseline;
  if (std::strcmp(user_setting, "avx512") == 0)
    asked = Capability::avx512;
  else if (std::strcmp(user_setting, "avx2") == 0)
    asked = Capability::avx2;
  else if (std::strcmp(user_setting, "default") != 0)
    fail("EMBER_CPU_CAPABILITY: expected default, avx2 or avx512, got '", user_setting, "'");
  return static_cast<int>(asked) < static_cast<int>(best) ? asked : best;
}

Capability cpu_capability() {
  static const Capability chosen =
      capability_for(blas::cpu_features(), std::getenv("EMBER_CPU_CAPABILITY"));
  return chosen;
}

}  // namespace ember::kernels
