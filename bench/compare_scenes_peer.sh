#!/usr/bin/env bash
# SceneNet's training speed against its PyTorch peer (bench/peer_scenes.py), in alternation:
# ROUNDS rounds of one epoch each (the main job's epoch img/s, schedule none as the peer's
# loop), then the median of each and their ratio.
# Usage: bench/compare_scenes_peer.sh BUILD_DIR [ROUNDS] [SCENES]    (default 3 rounds, 4000)
#   needs python3-torch, python3-numpy and dataset-fashion-mnist
set -euo pipefail
build="$1"
rounds="${2:-3}"
scenes="${3:-4000}"
here="$(dirname "$0")"
ember=() peer=()
for ((r = 1; r <= rounds; r++)); do
  e=$("$build/examples/train_fashion_mnist" --model scenes --scenes "$scenes" --epochs 1 \
    --schedule none --threads 2 </dev/null | sed -n 's/^epoch 1: .*, \([0-9]*\) img\/s |.*/\1/p')
  p=$(OMP_NUM_THREADS=2 /usr/bin/python3 "$here/peer_scenes.py" --scenes "$scenes" --threads 2 |
    sed -n 's/^peer_scenes: \([0-9.]*\) img\/s.*/\1/p')
  echo "round $r: ember $e img/s, PyTorch $p img/s"
  ember+=("$e")
  peer+=("$p")
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
me=$(median "${ember[@]}")
mp=$(median "${peer[@]}")
echo "median: ember $me img/s, PyTorch $mp img/s, ratio $(awk -v a="$me" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')x"
