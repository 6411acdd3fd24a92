#!/usr/bin/env bash
# W1 / W5 side by side: the main job (examples/train_fashion_mnist) and the PyTorch peer's
# script, one after the other for each attention variant, on the same threads and data. Prints
# per-epoch training images/s and test accuracy, inference images/s at batch 256 and peak
# resident memory for both.
# Usage: [PEER_CORETYPE=core] bench/compare_training.sh BUILD_DIR PEER_SCRIPT [EPOCHS] [VARIANTS...]
#   PEER_SCRIPT: the peer's fashion_cnn.py (W1, FashionNet) or vit_fashion.py (W5: the main job
#   then runs --model vit); both take --attention, --epochs, --threads
#   EPOCHS: default 2 for W1, 3 for W5
#   PEER_CORETYPE: OPENBLAS_CORETYPE for the peer alone (W5's peer is slow on the wrong core)
#   needs python3-torch, libopenblas0-pthread and dataset-fashion-mnist
set -euo pipefail
build="$1"
peer="$2"
model=fashionnet
[[ "$(basename "$peer")" == vit* ]] && model=vit
default_epochs=2
[ "$model" = vit ] && default_epochs=3
epochs="${3:-$default_epochs}"
shift $(($# < 3 ? $# : 3))
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(efficient none)
for attention in "${variants[@]}"; do
  ember_out=$("$build/examples/train_fashion_mnist" --model "$model" --attention "$attention" \
    --epochs "$epochs" --threads 2 </dev/null)
  peer_env=(OMP_NUM_THREADS=2)
  [ -n "${PEER_CORETYPE:-}" ] && peer_env+=(OPENBLAS_CORETYPE="$PEER_CORETYPE")
  peer_out=$(env "${peer_env[@]}" /usr/bin/python3 "$peer" --attention "$attention" \
    --epochs "$epochs" --threads 2)
  echo "== $model, attention $attention, $epochs epochs, 2 threads"
  grep -E '^FashionNet|^FashionViT|^BLAS|kernels' <<<"$ember_out" | head -2 | sed 's/^/ember: /'
  [ -n "${PEER_CORETYPE:-}" ] && echo "peer: OPENBLAS_CORETYPE=$PEER_CORETYPE"
  printf '%-6s %-6s %12s %10s\n' who epoch "train img/s" "test acc"
  grep -E '^epoch [0-9]+:' <<<"$ember_out" | sed -E \
    's/^epoch ([0-9]+):.* ([0-9]+) img\/s .*test accuracy ([0-9.]+)%.*/\1 \2 \3/' |
    while read -r e ips acc; do printf '%-6s %-6s %12s %9s%%\n' ember "$e" "$ips" "$acc"; done
  grep -E ' epoch=[0-9]+ ' <<<"$peer_out" | sed -E \
    's/.* epoch=([0-9]+) .*train_img_per_s=([0-9.]+) .*test_acc=([0-9.]+).*/\1 \2 \3/' |
    awk '{ printf "%-6s %-6s %12.0f %9.2f%%\n", "peer", $1, $2, 100 * $3 }'
  echo "ember inference img/s (batch 256, median of 3): $(sed -nE 's/^inference: ([0-9]+) img.*/\1/p' <<<"$ember_out")"
  echo "peer  inference img/s (batch 256; W1: median of 3, W5: one pass): $(sed -nE 's/.*infer_img_per_s(_median)?=([0-9.]+).*/\2/p' <<<"$peer_out")"
  echo "ember peak resident MiB: $(sed -nE 's/^peak resident memory: ([0-9]+) MiB/\1/p' <<<"$ember_out")"
  echo "peer  peak resident MiB: $(sed -nE 's/.*peak_rss_mib=([0-9.]+).*/\1/p' <<<"$peer_out")"
done
