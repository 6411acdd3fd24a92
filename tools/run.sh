#!/usr/bin/env bash
# The README's first command: installs what is missing (Fashion-MNIST included), builds, and
# trains FashionNet with efficient attention (the main job), printing the final test accuracy.
# Extra arguments go to train_fashion_mnist (try --help; --model vit trains the vision
# transformer instead, with its own defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh dataset-fashion-mnist
tools/build.sh
build_dir="${EMBER_BUILD_DIR:-build}"
"$build_dir/examples/train_fashion_mnist" --save "$build_dir/fashion_mnist.safetensors" \
  --metrics "$build_dir/metrics.csv" --plot "$build_dir/training.svg" "$@"
