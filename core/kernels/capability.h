// Which vector instructions ember's own hot loops are compiled for. A portable build
// (EMBER_NATIVE=OFF) is built for every x86-64 CPU, so a loop compiled once uses SSE2 only; the
// few kernels where that matters (the Winograd convolution's transforms and channel GEMMs,
// winograd.cpp) are compiled once per capability and pick the copy that fits the CPU when first
// called, as PyTorch does with ATEN_CPU_CAPABILITY. (A native build may use the build
// machine's instructions in every copy; the copies then differ in their vectors' width.)
// Read next: winograd.cpp, which shows the pattern.
#pragma once

#include "../blas.h"

namespace ember::kernels {

enum class Capability { baseline, avx2, avx512 };

/// "default" (SSE2, every x86-64), "avx2" (AVX2 + FMA) or "avx512" (F, DQ, BW, VL).
const char* name(Capability c);

/// The best capability of a CPU with these features, capped by the user's setting (nullptr or ""
/// when unset): a setting above what the CPU has gives what it has. An unknown setting throws an
/// Error naming EMBER_CPU_CAPABILITY and the accepted values.
Capability capability_for(const blas::CpuFeatures& cpu, const char* user_setting);

/// capability_for(this CPU, EMBER_CPU_CAPABILITY), decided once.
Capability cpu_capability();

}  // namespace ember::kernels
