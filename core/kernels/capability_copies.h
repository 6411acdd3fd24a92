// What a kernel file needs to compile its hot loops once per capability (capability.h): the
// pragmas that make the compiler target a capability's instructions for a stretch of code, and
// the sanitizer switches of the register tile those copies share (vectors.inc).
//
//   EMBER_TARGET_BEGIN("avx2,fma")
//   namespace avx2 {
//   constexpr int kVectorBytes = 32;
//   #include "my_kernels.inc"
//   }  // namespace avx2
//   EMBER_TARGET_END
//
// Read next: each_capability.inc, which does this for a file of kernels; winograd.cpp and
// gemm.cpp use it.
#pragma once

// GCC's target pragma; clang's attribute pragma.
#define EMBER_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
#define EMBER_TARGET_BEGIN(isa) \
  EMBER_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define EMBER_TARGET_END EMBER_PRAGMA(clang attribute pop)
#define EMBER_WIDE_VECTORS
#else
#define EMBER_TARGET_BEGIN(isa) EMBER_PRAGMA(GCC push_options) EMBER_PRAGMA(GCC target(isa))
#define EMBER_TARGET_END EMBER_PRAGMA(GCC pop_options)
// GCC's loops use 256-bit vectors on AVX-512 unless told otherwise.
#define EMBER_WIDE_VECTORS EMBER_PRAGMA(GCC target("prefer-vector-width=512"))
#endif

// The register tile (vectors.inc) is not instrumented by the sanitizers: their checks of every
// load and every index inside its loop kept its accumulators out of registers (10x slower, half
// of a sanitized training run). Under AddressSanitizer (GCC's -fsanitize=address defines the
// first macro, clang says the second), the matrices it reads and writes are checked whole before
// it runs.
#define EMBER_UNCHECKED_LOOP __attribute__((no_sanitize("address", "undefined")))
#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif
#ifdef EMBER_ASAN
#include <sanitizer/asan_interface.h>
#endif
