#!/usr/bin/env bash
# Builds the libFuzzer harnesses (ASan + UBSan, in the build the sanitized suite shares:
# tools/build-sanitized.sh) and runs each for SECONDS on a copy of its committed seed corpus, as
# many side by side as there are cores. Fails on any crash, leak, timeout or out-of-memory; the
# input that caused it is left in build-asan/artifacts/ (turn it into a regression test). A single
# allocation over 256 MB is a finding too (libFuzzer's default limit, 2 GB, let a 2 GiB PNG chunk
# buffer pass); the harnesses' stdout is closed (a resume's notes), stderr kept.
# Usage: tools/fuzz.sh [SECONDS]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
build="${EMBER_ASAN_BUILD_DIR:-build-asan}"
harnesses=(checkpoint idx image safetensors state_dict)
tools/build-sanitized.sh "${harnesses[@]/#/fuzz_}" make_checkpoint_seeds
mkdir -p "$build/artifacts"
# The harnesses run side by side, one per core (each is single-threaded and gets its SECONDS of
# its own core); their logs are read once all have ended.
jobs="$(nproc)"
for harness in "${harnesses[@]}"; do
  corpus="$build/corpus/$harness"
  mkdir -p "$corpus"
  if [ "$harness" = checkpoint ]; then
    "$build/tests/fuzz/make_checkpoint_seeds" "$corpus"
  else
    cp tests/fuzz/corpus/$harness/* "$corpus/"
  fi
  echo "== fuzz_$harness for ${seconds}s"
  rm -f "$build/fuzz_$harness.status"
  ( status=0
    "$build/tests/fuzz/fuzz_$harness" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -malloc_limit_mb=256 -close_fd_mask=1 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/${harness}_" >"$build/fuzz_$harness.log" 2>&1 || status=$?
    echo "$status" >"$build/fuzz_$harness.status" ) &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait
failed=0
for harness in "${harnesses[@]}"; do
  echo "== fuzz_$harness"
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Done" \
    "$build/fuzz_$harness.log" || true
  status="$(cat "$build/fuzz_$harness.status" 2>/dev/null || echo missing)"
  if [ "$status" != 0 ]; then
    echo "fuzz_$harness: finding (exit $status); input saved under $build/artifacts/" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
echo "fuzz: all harnesses ran ${seconds}s without a finding"
