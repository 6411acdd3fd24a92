#!/usr/bin/env bash
# Configures and builds ember in ./build (Release). Extra arguments go to cmake's configure.
# Usage: tools/build.sh [-DEMBER_NATIVE=OFF ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${EMBER_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" -j "$(nproc)"
