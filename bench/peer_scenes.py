#!/usr/bin/python3
"""The PyTorch peer of `train_fashion_mnist --model scenes`: SceneNet with efficient attention
(tools/scenes_torch.py, the same layers, loss and scenes) trained with Adam at batch 32 for one
epoch on scenes drawn before the clock starts, as the main job's loader draws them (from the
Fashion-MNIST training items, seed 0). Prints the epoch's training images per second.
Usage: bench/peer_scenes.py [--scenes N] [--threads T] [--data FOLDER]"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from scenes_torch import MEAN, STD, SceneNet, draw, loss_fn  # noqa: E402


def idx(path, offset):
    return np.frombuffer(gzip.open(path).read()[offset:], np.uint8)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    items = torch.tensor(idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"), 16)
                         .reshape(-1, 28, 28) / 255.0, dtype=torch.float32)
    labels = torch.tensor(idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"), 8).astype(np.int64))
    drawn = [draw(items, labels, 0, i) for i in range(args.scenes)]
    x = (torch.stack([d[0] for d in drawn]) - MEAN) / STD
    y = torch.stack([d[1] for d in drawn])
    torch.manual_seed(0)
    model = SceneNet()
    adam = torch.optim.Adam(model.parameters(), lr=2e-3)
    order = torch.randperm(args.scenes)
    start = time.perf_counter()
    for b in range(0, args.scenes, args.batch_size):
        batch = order[b:b + args.batch_size]
        adam.zero_grad()
        loss = loss_fn(model(x[batch]), y[batch])
        loss.backward()
        adam.step()
    seconds = time.perf_counter() - start
    print(f"peer_scenes: {args.scenes / seconds:.1f} img/s over one epoch of {args.scenes} scenes "
          f"({seconds:.1f} s, {args.threads} threads, torch {torch.__version__}), last loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
