#!/usr/bin/env bash
# Runs ember's bench_fashionnet and the PyTorch peer in alternation (ROUNDS rounds, 2 threads),
# then prints each figure's median over the rounds and the ratio peer/ember (> 1: ember faster).
# Usage: bench/compare_peer.sh [BUILD_DIR] [ROUNDS]     (needs python3-torch, libopenblas0-pthread)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
rounds="${2:-5}"
out=$(mktemp)
lscpu | sed -n 's/^Model name: *//p' | sed 's/^/CPU: /'
"$build/bench/bench_fashionnet" --reps 1 | grep '^#'
/usr/bin/python3 -c "import torch, ctypes; torch.ones(1) @ torch.ones(1); \
lib = ctypes.CDLL('libblas.so.3'); lib.openblas_get_corename.restype = ctypes.c_char_p; \
print('# peer: torch', torch.__version__, 'OpenBLAS core', lib.openblas_get_corename().decode())"
for r in $(seq "$rounds"); do
  EMBER_NUM_THREADS=2 "$build/bench/bench_fashionnet" | sed 's/^/ember /' >>"$out"
  OMP_NUM_THREADS=2 /usr/bin/python3 "$here/peer_fashionnet.py" --threads 2 | sed 's/^/peer /' >>"$out"
done
/usr/bin/python3 - "$out" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    if line.startswith(("ember #", "peer #")):
        continue
    who, kv = line.split()
    k, v = kv.split("=")
    if k != "threads":
        vals.setdefault((who, k), []).append(float(v))
print(f"{'figure':<20} {'ember ms':>10} {'peer ms':>10} {'peer/ember':>11}")
for k in sorted({k for _, k in vals}):
    if ("peer", k) not in vals:  # ember's own figures (counted GFLOP/s, share of peak)
        print(f"{k:<20} {statistics.median(vals[('ember', k)]):>10.3f}")
        continue
    e, p = statistics.median(vals[("ember", k)]), statistics.median(vals[("peer", k)])
    print(f"{k:<20} {e:>10.2f} {p:>10.2f} {p / e:>11.2f}")
PY
rm -f "$out"
