#!/usr/bin/env bash
# W2 side by side: for each (variant, size), ember's attention_scaling child and the PyTorch peer
# (bench/peer_attention.py) run one after the other on 2 threads; prints both medians, ember's
# tracked peak and both processes' resident-set growth, and the ratio peer/ember (> 1: ember faster).
# Usage: bench/compare_attention.sh [BUILD_DIR] ["efficient:128 efficient:512 dot:64 blocked:128 ..."]
# (blocked: ember's dot-product attention in blocks of queries, against the peer's dot-product)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
points="${2:-efficient:128 efficient:256 efficient:512 dot:32 dot:64}"
printf "%-10s %5s %12s %12s %11s %14s %14s %16s\n" variant s "ember ms" "peer ms" "peer/ember" \
  "ember tracked" "ember RSS MiB" "peer RSS growth"
for point in $points; do
  variant=${point%%:*}
  size=${point##*:}
  read -r ems etracked erss ereps < <("$build/examples/attention_scaling" --child --variant "$variant" \
    --size "$size" --threads 2 --target-s 5)
  peer_variant=$variant  # the peer has one dot-product form, with the full map
  [ "$variant" = blocked ] && peer_variant=dot
  read -r pms prss preps < <(OMP_NUM_THREADS=2 /usr/bin/python3 "$here/peer_attention.py" \
    --variant "$peer_variant" --size "$size" --threads 2 --target-s 5)
  ratio=$(/usr/bin/python3 -c "print(f'{$pms / $ems:.2f}')")
  printf "%-10s %5s %12.1f %12.1f %11s %14.1f %14.1f %16.1f\n" "$variant" "$size" "$ems" "$pms" "$ratio" \
    "$etracked" "$erss" "$prss"
done
