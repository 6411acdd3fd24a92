#!/usr/bin/python3
"""The PyTorch peer of examples/attention_scaling (W2): one attention block on (1, 64, s, s),
64 key/value channels, 4 heads, forward + backward (loss = out.sum()), in this process.
The modules are the reference ones from tools/make_attention_goldens.py.
Prints: median_ms rss_growth_mib reps"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_attention_goldens import DotProductAttention, EfficientAttention  # noqa: E402


def rss_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=["efficient", "dot"], required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target-s", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cls = EfficientAttention if args.variant == "efficient" else DotProductAttention
    m = cls(64, 64, 4, 64)
    x = torch.randn(1, 64, args.size, args.size, requires_grad=True)
    base = rss_mib()

    def step():
        m.zero_grad(set_to_none=True)
        x.grad = None
        t0 = time.perf_counter()
        m(x).sum().backward()
        return time.perf_counter() - t0

    warm = step()
    reps = 1 if 3 * warm > 120 else int(min(30, max(3, args.target_s / warm)))
    times = [step() for _ in range(reps)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{1e3 * statistics.median(times):.3f} {peak - base:.1f} {reps}")


if __name__ == "__main__":
    main()
