#!/usr/bin/env bash
# Runs the whole suite against the library and the programs the tests start built with
# AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer), in the build the fuzzers
# share (tools/build-sanitized.sh), but install_and_use (it checks the installed package, which
# the plain run of tools/test.sh covers). The suites' own code is not instrumented
# (tests/CMakeLists.txt). CI runs it after tools/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${EMBER_ASAN_BUILD_DIR:-build-asan}"
# Only what the suites run: the test binaries, which depend on the programs they start.
tools/build-sanitized.sh ember_tests
if cmake --build "$build" --target help | grep ember_distributed_tests >/dev/null; then
  tools/build-sanitized.sh ember_distributed_tests
fi
# Allocation stacks of 8 frames instead of ASan's 30: recording the deep ones cost up to a
# quarter of an allocation-heavy suite's time (test_gradcheck_nn, 3 alternated pairs: 61 / 47,
# 71 / 54, 60 / 57 s), and 8 frames still reach the op that allocated. ASAN_OPTIONS set by the
# caller wins.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:malloc_context_size=8}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build" --output-on-failure -j 2 -E "^install_and_use$"
