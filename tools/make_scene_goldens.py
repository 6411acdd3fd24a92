#!/usr/bin/python3
"""Regenerates tests/golden/scenes.safetensors: fashion scenes (examples/fashion_scenes.h) drawn
by this independent implementation with PyTorch's generator, from a small fake item set.
Only needed to regenerate; never to build or test ember.
Run from the repository root:  /usr/bin/python3 tools/make_scene_goldens.py

items, labels: the fake items (40 of 28x28 in [0, 1], four per class) and their classes;
scene<i>.image (1, 64, 64) and scene<i>.labels (64, 64) for scenes 0-5 of seed 7;
trajectory.model.<name>: SceneNet's initial weights (torch.manual_seed(0)), and
trajectory.losses: its loss at each of 20 SGD steps (lr 0.05, momentum 0.9) in training mode, step s on
scenes 4s..4s+3 of seed 9, normalised with the scenes' mean and standard deviation.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402
from scenes_torch import ITEM, MEAN, STD, SceneNet, draw, loss_fn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
def main():
    gen = torch.Generator().manual_seed(3)
    items = torch.rand(40, ITEM, ITEM, generator=gen) ** 2  # dark-ish: some pixels under 0.2
    labels = torch.arange(40) % 10
    tensors = {"items": items, "labels": labels}
    for i in range(6):
        tensors[f"scene{i}.image"], tensors[f"scene{i}.labels"] = draw(items, labels, 7, i)
    torch.manual_seed(0)
    model = SceneNet()
    for k, v in model.state_dict().items():
        tensors[f"trajectory.model.{k}"] = v.detach().clone()
    sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(20):
        batch = [draw(items, labels, 9, 4 * step + j) for j in range(4)]
        x = (torch.stack([b[0] for b in batch]) - MEAN) / STD
        y = torch.stack([b[1] for b in batch])
        sgd.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        sgd.step()
        losses.append(loss.item())
    tensors["trajectory.losses"] = torch.tensor(losses, dtype=torch.float64)
    safetensors_py.save(os.path.join(OUT, "scenes.safetensors"), tensors)
    print("scenes.safetensors", os.path.getsize(os.path.join(OUT, "scenes.safetensors")), "bytes")


if __name__ == "__main__":
    main()
