#!/usr/bin/python3
"""Regenerates tests/golden/scenes.safetensors: fashion scenes (examples/fashion_scenes.h) drawn
by this independent implementation with PyTorch's generator, from a small fake item set.
Only needed to regenerate; never to build or test ember.
Run from the repository root:  /usr/bin/python3 tools/make_scene_goldens.py

items, labels: the fake items (40 of 28x28 in [0, 1], four per class) and their classes;
scene<i>.image (1, 64, 64) and scene<i>.labels (64, 64) for scenes 0-5 of seed 7.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
SIZE, CELL, ITEM, IGNORE, THRESHOLD, TINT = 64, 32, 28, -100, 0.2, 0.5


def draw(items, labels, seed, i):
    g = torch.Generator().manual_seed((seed * 1000003 + i) % 2**32)

    def pick(n):
        return int(torch.randint(0, n, (1,), generator=g).item())

    by_class = [[j for j in range(len(labels)) if labels[j] == k] for k in range(10)]
    image = torch.zeros(1, SIZE, SIZE)
    target = torch.zeros(SIZE, SIZE, dtype=torch.int64)
    reference_cell = pick(4)
    reference = pick(len(labels))
    reference_class = int(labels[reference])
    for cell in range(4):
        item, label = reference, IGNORE
        if cell != reference_cell:
            same = pick(2) == 1
            cls = reference_class if same else (reference_class + 1 + pick(9)) % 10
            item = by_class[cls][pick(len(by_class[cls]))]
            label = 1 if same else 2
        top, left = cell // 2 * CELL + pick(5), cell % 2 * CELL + pick(5)
        patch = items[item]
        image[0, top:top + ITEM, left:left + ITEM] = patch
        region = target[top:top + ITEM, left:left + ITEM]
        region[patch > THRESHOLD] = label
    top, left = reference_cell // 2 * CELL, reference_cell % 2 * CELL
    image[0, top:top + CELL, left:left + CELL].clamp_(min=TINT)
    target[top:top + CELL, left:left + CELL] = IGNORE
    return image, target


def main():
    gen = torch.Generator().manual_seed(3)
    items = torch.rand(40, ITEM, ITEM, generator=gen) ** 2  # dark-ish: some pixels under 0.2
    labels = torch.arange(40) % 10
    tensors = {"items": items, "labels": labels}
    for i in range(6):
        tensors[f"scene{i}.image"], tensors[f"scene{i}.labels"] = draw(items, labels, 7, i)
    safetensors_py.save(os.path.join(OUT, "scenes.safetensors"), tensors)
    print("scenes.safetensors", os.path.getsize(os.path.join(OUT, "scenes.safetensors")), "bytes")


if __name__ == "__main__":
    main()
