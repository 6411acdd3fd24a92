#!/usr/bin/env bash
# The one instrumented build the sanitized suite (tools/test-sanitized.sh) and the fuzzers
# (tools/fuzz.sh) share, in build-asan: AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included) on the library and every program, libFuzzer's coverage hooks on the
# library's parsers (EMBER_FUZZ in CMakeLists.txt), -O1 with line tables (OSS-Fuzz's flags: quicker
# to build than -O2 -g, the same reports). Builds the TARGETs given.
# clang 16, not Debian 12's default clang 14: the suites capture structured bindings in lambdas
# (C++20), which clang implements from 16 on.
# Usage: tools/build-sanitized.sh TARGET...
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh clang-16 libclang-rt-16-dev
build="${EMBER_ASAN_BUILD_DIR:-build-asan}"
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=Release \
  -DEMBER_SANITIZE=ON -DEMBER_FUZZ=ON -DEMBER_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-gline-tables-only" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "$@"
