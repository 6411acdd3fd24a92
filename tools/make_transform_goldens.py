#!/usr/bin/python3
"""Regenerates tests/golden/transforms.safetensors: what torchvision's transforms (Debian's
python3-torchvision) make of fixed images after torch.manual_seed(s), for seeds 0..SEEDS-1.
ember's transforms, handed a Generator(s), must draw the same parameters and give the same
pixels. Keys: <image>.input, <case>.s<seed>.

Needed only to regenerate the golden file, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_transform_goldens.py
"""
import os
import sys

import torch
from torchvision import transforms as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

SEEDS = 8


def cases():
    """name -> (image, transform); tests/test_transforms.cpp builds the same ones."""
    return {
        "crop": ("rgb", T.RandomCrop(16, padding=3)),
        "flip": ("rgb", T.RandomHorizontalFlip()),
        "affine": ("rgb", T.RandomAffine(30, translate=(0.2, 0.1), scale=(0.8, 1.2))),
        "affine_rotate": ("grey", T.RandomAffine(15)),
        "jitter": ("rgb", T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)),
        "jitter_grey": ("grey", T.ColorJitter(brightness=0.3, contrast=0.5)),
        "erasing": ("grey", T.RandomErasing(p=0.7, value=0.5)),
        "compose": ("rgb", T.Compose([T.RandomCrop(16, padding=2), T.RandomHorizontalFlip(),
                                      T.RandomAffine(10, translate=(0.1, 0.1)),
                                      T.Normalize([0.5, 0.4, 0.3], [0.25, 0.2, 0.3]),
                                      T.RandomErasing()])),
    }


def main():
    gen = torch.Generator().manual_seed(0)
    images = {"rgb": torch.rand(3, 16, 16, generator=gen),
              "grey": torch.rand(1, 20, 20, generator=gen)}
    out = {f"{name}.input": img for name, img in images.items()}
    for name, (image, transform) in cases().items():
        for seed in range(SEEDS):
            torch.manual_seed(seed)
            out[f"{name}.s{seed}"] = transform(images[image].clone()).contiguous()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                        "transforms.safetensors")
    safetensors_py.save(path, out)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
