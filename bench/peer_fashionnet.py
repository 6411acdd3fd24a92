#!/usr/bin/python3
"""The PyTorch peer of bench_fashionnet.cpp: W4 (FashionNet's convolutions at batch 64, forward
+ backward with input, weight and bias gradients), SceneNet's convolutions at batch 32, and one W1 training step (FashionNet without
attention and with efficient attention, Adam, batch 64), then one step of SGD, Adam and RMSprop
over FashionNet's parameters. Prints median milliseconds in the same key=value form. The attention module is the reference one in tools/make_attention_goldens.py."""
import argparse
import os
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_attention_goldens import EfficientAttention  # noqa: E402


def median_ms(step, reps):
    step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def conv_ms(shape, out_channels, reps, kernel=3, dilation=1):
    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    conv = nn.Conv2d(shape[1], out_channels, kernel, padding=dilation * (kernel - 1) // 2,
                     dilation=dilation)

    def step():
        x.grad = None
        conv.zero_grad(set_to_none=True)
        y = conv(x)
        y.backward(torch.ones_like(y))
    return median_ms(step, reps)


def w1_ms(reps, attention):
    torch.manual_seed(0)
    attn = EfficientAttention(32, 32, 4, 32) if attention == "efficient" else nn.Identity()
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), attn,
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return median_ms(step, reps)


def optimizer_ms(reps, which):
    """One step over FashionNet's parameters (efficient attention), gradients fixed."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        EfficientAttention(32, 32, 4, 32), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(),
        nn.Linear(128, 10))
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    if which == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True,
                              weight_decay=1e-4)
    elif which == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, centered=True, momentum=0.9)
    return median_ms(opt.step, reps)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads={torch.get_num_threads()}")
    print(f"conv1_fwd_bwd_ms={conv_ms((64, 1, 28, 28), 32, args.reps):.3f}")
    print(f"conv2_fwd_bwd_ms={conv_ms((64, 32, 14, 14), 64, args.reps):.3f}")
    # SceneNet's convolutions (examples/scene_net.h) at its training batch, 32.
    for name, shape, out, kernel, dilation in [
            ("stem1", (32, 1, 64, 64), 16, 3, 1), ("stem2", (32, 16, 64, 64), 16, 3, 1),
            ("down1", (32, 16, 32, 32), 32, 3, 1), ("down2", (32, 32, 32, 32), 32, 3, 2),
            ("down3", (32, 32, 32, 32), 32, 3, 4), ("mid", (32, 32, 32, 32), 32, 3, 1),
            ("head1", (32, 32, 64, 64), 16, 3, 1), ("head2", (32, 16, 64, 64), 3, 1, 1)]:
        print(f"scene_{name}_fwd_bwd_ms={conv_ms(shape, out, args.reps, kernel, dilation):.3f}")
    print(f"w1_step_none_ms={w1_ms(args.reps, 'none'):.3f}")
    print(f"w1_step_efficient_ms={w1_ms(args.reps, 'efficient'):.3f}")
    for which in ("sgd", "adam", "rmsprop"):
        print(f"optim_{which}_step_ms={optimizer_ms(args.reps, which):.3f}")
