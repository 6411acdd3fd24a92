#!/usr/bin/env bash
# The fashion scenes four ways, in one run on one machine: SceneNet with efficient attention,
# dot-product attention in blocks, dot-product attention with the full 1,024 x 1,024 map, and
# no attention; each trained by the main job with the same seeds, settings and threads. Prints
# one row per variant and seed: mean seconds per epoch, peak resident memory, final test mean
# IoU and pixel accuracy; then each attention's time against efficient attention's.
# Usage: bench/compare_scenes.sh BUILD_DIR [SEEDS...]      (default seed 0; extra flags in FLAGS;
#   KEEP=FOLDER keeps each run's checkpoint there, for examples/scene_pictures)
#   needs dataset-fashion-mnist
set -euo pipefail
build="$1"
shift
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(0)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
printf "%-10s %5s %12s %14s %10s %10s\n" attention seed "s / epoch" "peak RSS MiB" "test mIoU" "pixel acc"
for seed in "${seeds[@]}"; do
  for attention in efficient dot dot-full none; do
    log="$out/$attention.$seed.log"
    keep=()
    [ -n "${KEEP:-}" ] && keep=(--save "$KEEP/$attention.$seed.safetensors")
    # shellcheck disable=SC2086
    "$build/examples/train_fashion_mnist" --model scenes --attention "$attention" --seed "$seed" \
      --threads 2 --metrics "$out/$attention.$seed.csv" "${keep[@]}" ${FLAGS:-} </dev/null >"$log"
    seconds=$(awk -F, 'NR > 1 { s += $7; n++ } END { printf "%.1f", s / n }' "$out/$attention.$seed.csv")
    rss=$(sed -n 's/^peak resident memory: \([0-9]*\) MiB/\1/p' "$log")
    miou=$(sed -n 's/^final test accuracy: \([0-9.]*\)%, test mIoU \([0-9.]*\)%/\2/p' "$log")
    acc=$(sed -n 's/^final test accuracy: \([0-9.]*\)%.*/\1/p' "$log")
    printf "%-10s %5s %12s %14s %9s%% %9s%%\n" "$attention" "$seed" "$seconds" "$rss" "$miou" "$acc"
    echo "$attention $seed $seconds" >>"$out/times"
  done
done
echo "time per epoch against efficient attention's (mean over seeds):"
awk '{ t[$1] += $3; n[$1]++ } END { for (a in t) printf "  %-10s %.2fx\n", a, (t[a] / n[a]) / (t["efficient"] / n["efficient"]) }' "$out/times"
