// Loading OpenBLAS with the kernels that fit the CPU; see blas.h.
//
// OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels once, in the library's own
// initialiser, from OPENBLAS_CORETYPE or its CPUID tables. A program linked against it has run
// that initialiser before any of ember's code, so ember does not link OpenBLAS: it dlopen()s the
// library at first use, after setting OPENBLAS_CORETYPE for the duration of the load.
#include "blas.h"

#include <cpuid.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "error.h"
#include "kernels/capability.h"
#include "kernels/gemm.h"

namespace ember {
namespace blas {
namespace {

bool bit(unsigned value, int n) { return (value >> n) & 1u; }

// Which register states the OS saves on a context switch (XCR0): AVX needs 0x6, AVX-512 0xe6.
uint64_t os_saved_state() {
  uint32_t lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

std::string brand_string() {
  unsigned regs[12] = {};
  unsigned max_ext = __get_cpuid_max(0x80000000u, nullptr);
  if (max_ext < 0x80000004u) return "unknown x86-64 CPU";
  for (unsigned i = 0; i < 3; ++i)
    __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                &regs[4 * i + 3]);
  std::string s(reinterpret_cast<const char*>(regs), sizeof(regs));
  s = s.c_str();  // cut at the first NUL
  size_t first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
  return first == std::string::npos ? s : s.substr(first, last - first + 1);
}

}  // namespace

CpuFeatures cpu_features() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  unsigned max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.intel = std::strcmp(vendor, "GenuineIntel") == 0;
  f.amd = std::strcmp(vendor, "AuthenticAMD") == 0;
  __get_cpuid(1, &a, &b, &c, &d);
  unsigned base_family = (a >> 8) & 0xf;
  f.family = static_cast<int>(base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family);
  bool osxsave = bit(c, 27);
  uint64_t xcr0 = osxsave ? os_saved_state() : 0;
  bool avx_state = (xcr0 & 0x6) == 0x6, avx512_state = (xcr0 & 0xe6) == 0xe6;
  f.avx = bit(c, 28) && avx_state;
  f.fma = bit(c, 12) && avx_state;
  if (max_leaf >= 7) {
    __get_cpuid_count(7, 0, &a, &b, &c, &d);
    f.avx2 = bit(b, 5) && avx_state;
    f.avx512f = bit(b, 16) && avx512_state;
    f.avx512dq = bit(b, 17) && avx512_state;
    f.avx512cd = bit(b, 28) && avx512_state;
    f.avx512bw = bit(b, 30) && avx512_state;
    f.avx512vl = bit(b, 31) && avx512_state;
    __get_cpuid_count(7, 1, &a, &b, &c, &d);
    f.avx512_bf16 = bit(a, 5) && avx512_state;
  }
  return f;
}

// Measured with bench/bench_matmul --cores (README, "The CPU underneath"), on squares and on the
// thin GEMMs ember's layers run (a Winograd convolution's 64 x 32 x 3136, say):
// - AMD Zen 4 (family 0x19 with AVX-512, which runs 512-bit FMAs as two 256-bit halves):
//   Haswell's AVX2 kernels were the fastest everywhere, 4-7% ahead of SkylakeX/Cooperlake
//   (OpenBLAS's own choice there), and 25-35% ahead of the Zen target on thin GEMMs (95 against
//   71 GF/s).
// - AMD Zen 5 and later (family 0x1a, a full 512-bit FMA datapath): the AVX-512 kernels, as on
//   Intel. On an EPYC of the Turin kind, Cooperlake and SkylakeX ran squares at 160-175 GF/s on
//   one thread against Haswell's 89-99, and the thin GEMMs at 142-167 against 86-94.
// - Intel with AVX-512 (BW, DQ, VL): SkylakeX, or Cooperlake when it has AVX-512 BF16 (SkylakeX's
//   sgemm/dgemm plus bf16 kernels). On a Xeon these run 4.6x faster than the Prescott (SSE3)
//   fallback OpenBLAS 0.3.21 picks for Intel CPUs newer than itself.
// - Other AVX2 CPUs: Zen on AMD (what OpenBLAS itself picks for Zen 1-3), Haswell elsewhere.
std::string openblas_core_for(const CpuFeatures& cpu) {
  bool avx2 = cpu.avx2 && cpu.fma;
  bool avx512 = cpu.avx512f && cpu.avx512dq && cpu.avx512cd && cpu.avx512bw && cpu.avx512vl;
  bool half_width_avx512 = cpu.amd && cpu.family < 0x1a;  // Zen 4
  if (cpu.amd && avx2 && !avx512) return "Zen";
  if (avx512) return half_width_avx512 ? "Haswell" : cpu.avx512_bf16 ? "Cooperlake" : "SkylakeX";
  if (avx512) return cpu.avx512_bf16 ? "Cooperlake" : "SkylakeX";
  if (avx2) return "Haswell";
  return "";
}

std::string choose_openblas_core(const CpuFeatures& cpu, const char* user_setting, bool* by_user) {
  bool user = user_setting != nullptr && *user_setting != '\0';
  if (by_user) *by_user = user;
  return user ? std::string(user_setting) : openblas_core_for(cpu);
}

}  // namespace blas

namespace kernels {
namespace {

struct Loaded {
  BlasLibrary functions;
  std::string library, chosen_by;
};

template <typename Fn>
Fn symbol(void* handle, const char* name, bool required = true) {
  void* p = dlsym(handle, name);
  if (!p && required) fail("OpenBLAS: the loaded library has no symbol '", name, "'");
  return reinterpret_cast<Fn>(p);
}

// NOTE: setenv is not thread-safe against a concurrent getenv. It runs once, under call_once,
// at ember's first BLAS use, and is undone right after the load.
Loaded load() {
  Loaded out;
  const char* names[] = {"libopenblas.so.0", EMBER_OPENBLAS_LIBRARY};
  void* handle = nullptr;
  for (const char* name : names) {  // loaded already (the program links it): too late to choose
    if ((handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD))) {
      out.library = name;
      out.chosen_by = "OpenBLAS (loaded before ember)";
      break;
    }
  }
  if (!handle) {
    bool by_user = false;
    std::string core = blas::choose_openblas_core(blas::cpu_features(),
                                                  std::getenv("OPENBLAS_CORETYPE"), &by_user);
    out.chosen_by = by_user ? "user (OPENBLAS_CORETYPE)" : core.empty() ? "OpenBLAS" : "ember";
    if (!by_user && !core.empty()) setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
    for (const char* name : names) {
      if ((handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL))) {
        out.library = name;
        break;
      }
    }
    if (!by_user && !core.empty()) unsetenv("OPENBLAS_CORETYPE");
  }
  if (!handle)
    fail("OpenBLAS: cannot load libopenblas.so.0 (", dlerror(),
         "); install it with: apt-get install libopenblas0");
  BlasLibrary& f = out.functions;
  f.sgemm = symbol<decltype(f.sgemm)>(handle, "cblas_sgemm");
  f.dgemm = symbol<decltype(f.dgemm)>(handle, "cblas_dgemm");
  f.set_num_threads = symbol<decltype(f.set_num_threads)>(handle, "openblas_set_num_threads");
  f.get_num_threads = symbol<decltype(f.get_num_threads)>(handle, "openblas_get_num_threads");
  f.get_corename = symbol<decltype(f.get_corename)>(handle, "openblas_get_corename");
  f.get_config = symbol<decltype(f.get_config)>(handle, "openblas_get_config");
  f.shutdown_threads = symbol<decltype(f.shutdown_threads)>(handle, "blas_thread_shutdown_", false);
  return out;
}

const Loaded& loaded() {
  static const Loaded lib = load();
  return lib;
}

}  // namespace

const BlasLibrary& blas_library() { return loaded().functions; }

}  // namespace kernels

BlasInfo blas_info() {
  const auto& lib = kernels::loaded();
  return BlasInfo{.library = lib.library,
                  .config = lib.functions.get_config(),
                  .core = lib.functions.get_corename(),
                  .chosen_by = lib.chosen_by,
                  .cpu = blas::brand_string(),
                  .threads = lib.functions.get_num_threads(),
                  .kernels = kernels::name(kernels::cpu_capability())};
}

std::string to_string(const BlasInfo& info) {
  std::string config = info.config;
  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21"
  size_t second_space = config.find(' ', config.find(' ') + 1);
  return config.substr(0, second_space) + " core " + info.core + " (chosen by " + info.chosen_by +
         "), " + std::to_string(info.threads) + " threads, ember kernels " + info.kernels +
         ", on " + info.cpu;
}

}  // namespace ember
