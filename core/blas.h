// Which BLAS ember runs and with which kernels. ember loads OpenBLAS itself, at its first use,
// after choosing the kernel set ("core") that fits this CPU: Debian 12's OpenBLAS 0.3.21 does
// not know CPUs newer than itself and falls back to SSE3 kernels there, several times slower.
// A user's OPENBLAS_CORETYPE always wins. Read next: core/blas.cpp (the choice and the loading),
// kernels/gemm.h (the GEMM call every kernel makes).
#pragma once

#include <string>

namespace ember {

/// What ember_info and every benchmark print about the BLAS underneath.
struct BlasInfo {
  std::string library;    // the shared library loaded, e.g. "libopenblas.so.0"
  std::string config;     // openblas_get_config(): version and build options
  std::string core;       // the kernel set in use, e.g. "SkylakeX" (openblas_get_corename())
  std::string chosen_by;  // "ember", "user (OPENBLAS_CORETYPE)" or "OpenBLAS (loaded before ember)"
  std::string cpu;        // the CPU's model name (CPUID brand string)
  int threads = 0;        // OpenBLAS's thread count now
  std::string kernels;    // the vector capability of ember's own kernels (kernels/capability.h)
};

/// Loads OpenBLAS if it is not loaded yet and describes it.
BlasInfo blas_info();

/// One line for program headers: "OpenBLAS 0.3.21 core SkylakeX (chosen by ember), 2 threads,
/// ember kernels avx512, on AMD EPYC 9R14".
std::string to_string(const BlasInfo& info);

namespace blas {

/// The CPU features that decide which OpenBLAS kernels fit (each usable: the OS saves the state).
struct CpuFeatures {
  bool intel = false, amd = false;
  int family = 0;  // CPUID's display family: 0x19 for AMD Zen 3 and 4, 0x1a for Zen 5
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512dq = false, avx512cd = false, avx512bw = false, avx512vl = false;
  bool avx512_bf16 = false;
};

/// The features of the CPU this runs on.
CpuFeatures cpu_features();

/// The OpenBLAS core ember asks for on a CPU with these features, or "" to leave the choice to
/// OpenBLAS (CPUs without AVX2, where its own detection of older models is reliable).
std::string openblas_core_for(const CpuFeatures& cpu);

/// The core to request given the user's OPENBLAS_CORETYPE (nullptr or "" when unset): the
/// user's value, else openblas_core_for(cpu). `by_user` says which.
std::string choose_openblas_core(const CpuFeatures& cpu, const char* user_setting, bool* by_user);

}  // namespace blas
}  // namespace ember
