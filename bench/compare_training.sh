#!/usr/bin/env bash
# W1 side by side: the main job (examples/train_fashion_mnist) and the PyTorch peer's FashionNet
# script, one after the other for each attention variant, on the same threads and data. Prints
# per-epoch training images/s and test accuracy, inference images/s at batch 256 and peak
# resident memory for both.
# Usage: bench/compare_training.sh BUILD_DIR PEER_SCRIPT [EPOCHS] [VARIANTS...]
#   PEER_SCRIPT: the peer's fashion_cnn.py (flags --attention, --epochs, --threads)
#   needs python3-torch, libopenblas0-pthread and dataset-fashion-mnist
set -euo pipefail
build="$1"
peer="$2"
epochs="${3:-2}"
shift $(($# < 3 ? $# : 3))
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(efficient none)
for attention in "${variants[@]}"; do
  ember_out=$("$build/examples/train_fashion_mnist" --attention "$attention" --epochs "$epochs" \
    --threads 2 </dev/null)
  peer_out=$(OMP_NUM_THREADS=2 /usr/bin/python3 "$peer" --attention "$attention" \
    --epochs "$epochs" --threads 2)
  echo "== attention $attention, $epochs epochs, 2 threads"
  printf '%-6s %-6s %12s %10s\n' who epoch "train img/s" "test acc"
  grep -E '^epoch [0-9]+:' <<<"$ember_out" | sed -E \
    's/^epoch ([0-9]+):.* ([0-9]+) img\/s .*test accuracy ([0-9.]+)%.*/\1 \2 \3/' |
    while read -r e ips acc; do printf '%-6s %-6s %12s %9s%%\n' ember "$e" "$ips" "$acc"; done
  grep -E ' epoch=[0-9]+ ' <<<"$peer_out" | sed -E \
    's/.* epoch=([0-9]+) .*train_img_per_s=([0-9.]+) .*test_acc=([0-9.]+) .*/\1 \2 \3/' |
    awk '{ printf "%-6s %-6s %12.0f %9.2f%%\n", "peer", $1, $2, 100 * $3 }'
  echo "ember inference img/s (batch 256, median of 3): $(sed -nE 's/^inference: ([0-9]+) img.*/\1/p' <<<"$ember_out")"
  echo "peer  inference img/s (batch 256, median of 3): $(sed -nE 's/.*infer_img_per_s_median=([0-9.]+).*/\1/p' <<<"$peer_out")"
  echo "ember peak resident MiB: $(sed -nE 's/^peak resident memory: ([0-9]+) MiB/\1/p' <<<"$ember_out")"
  echo "peer  peak resident MiB: $(sed -nE 's/.*peak_rss_mib=([0-9.]+).*/\1/p' <<<"$peer_out")"
done
