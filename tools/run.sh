#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh graphviz
tools/build.sh
build_dir="${EMBER_BUILD_DIR:-build}"
"$build_dir/examples/hello_tensors"
"$build_dir/examples/autograd_graph" --out "$build_dir/autograd_graph"
