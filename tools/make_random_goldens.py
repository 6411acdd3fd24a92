#!/usr/bin/python3
"""Regenerates tests/golden/random.safetensors: PyTorch's random numbers for given seeds.

Needed only to regenerate the golden file, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_random_goldens.py

After torch.manual_seed(0), in this order (each draw continues the same generator):
  rand_f32 rand(1000); rand_f64 rand(100, float64); randn_f32_small randn(7);
  randn_f64 randn(1000, float64); randn_f64_small randn(5, float64); randn_f32 randn(1000);
  randint randint(3, 10, (100,)); randint_wide randint(0, 2**40, (10,)); randperm randperm(1000);
  uniform uniform_(-0.3, 0.7) on a (3, 4) float32; normal normal_(2, 0.5) on 37 float64.
After torch.manual_seed(1): the initial weights of Linear(20, 5), Conv2d(3, 8, 3) and
MultiheadAttention(16, 4), built in that order (module.<name>).
fashionnet.<name>: [CRC-32 of the float32 bytes, element count] of every floating tensor of
FashionNet with efficient attention (WORKLOADS.md W1) after torch.manual_seed(0).
loader_epoch<e>: the sample order of epoch e (0, 1, 2) over 50 samples: the e-th
torch.randperm(50, generator=g) from g = torch.Generator().manual_seed(3), as the W1 peer shuffles.
After torch.manual_seed(2**32 + 5): rand(8), randn(20, float64) (seed_2pow32_plus5.*). After
torch.manual_seed(4): Embedding(10, 8), LayerNorm(6), BatchNorm2d(3) (module.<name>.*).
"""
import os
import sys
import zlib

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402
from make_attention_goldens import EfficientAttention  # noqa: E402

class FashionNet(nn.Module):
    """W1's FashionNet with efficient attention, its layers built in ../shared/peer's order."""

    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                    nn.MaxPool2d(2))
        self.attn = EfficientAttention(32, 32, 4, 32)
        self.block2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                                    nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(),
                                  nn.Linear(128, 10))


OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


def main():
    t = {}
    torch.manual_seed(0)
    t["rand_f32"] = torch.rand(1000)
    t["rand_f64"] = torch.rand(100, dtype=torch.float64)
    t["randn_f32_small"] = torch.randn(7)
    t["randn_f64"] = torch.randn(1000, dtype=torch.float64)
    t["randn_f64_small"] = torch.randn(5, dtype=torch.float64)
    t["randn_f32"] = torch.randn(1000)
    t["randint"] = torch.randint(3, 10, (100,))
    t["randint_wide"] = torch.randint(0, 2**40, (10,))
    t["randperm"] = torch.randperm(1000)
    t["uniform"] = torch.empty(3, 4).uniform_(-0.3, 0.7)
    t["normal"] = torch.empty(37, dtype=torch.float64).normal_(2.0, 0.5)

    torch.manual_seed(1)
    modules = {"linear": nn.Linear(20, 5), "conv": nn.Conv2d(3, 8, 3),
               "mha": nn.MultiheadAttention(16, 4),
               "conv_transpose": nn.ConvTranspose2d(4, 6, 3, groups=2)}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            t[f"module.{name}.{key}"] = value

    torch.manual_seed(0)
    for key, value in FashionNet().state_dict().items():
        if value.dtype == torch.float32:
            crc = zlib.crc32(value.contiguous().numpy().tobytes())
            t[f"fashionnet.{key}"] = torch.tensor([crc, value.numel()], dtype=torch.int64)

    shuffle = torch.Generator().manual_seed(3)
    for epoch in range(3):
        t[f"loader_epoch{epoch}"] = torch.randperm(50, generator=shuffle)

    # Seeds past 32 bits: the generator takes the low 32 bits (2**32 + 5 draws what 5 draws).
    torch.manual_seed(2**32 + 5)
    t["seed_2pow32_plus5.rand"] = torch.rand(8)
    t["seed_2pow32_plus5.randn_f64"] = torch.randn(20, dtype=torch.float64)
    # The other layers' default initialisation: Embedding's normal fill in float32 (80 values,
    # PyTorch's vectorised float32 path), LayerNorm and BatchNorm2d (constants).
    torch.manual_seed(4)
    for name, module in {"embedding": nn.Embedding(10, 8), "layer_norm": nn.LayerNorm(6),
                         "batch_norm": nn.BatchNorm2d(3)}.items():
        for key, value in module.state_dict().items():
            t[f"module.{name}.{key}"] = value

    # trunc_normal_: uniform over the CDF's range, then erfinv (float32 and float64).
    torch.manual_seed(5)
    t["trunc_normal_f32"] = nn.init.trunc_normal_(torch.empty(1000), std=0.02, a=-0.04, b=0.04)
    t["trunc_normal_f64"] = nn.init.trunc_normal_(torch.empty(300, dtype=torch.float64), mean=1.0,
                                                  std=2.0, a=0.0, b=3.0)

    # DistributedSampler: 10 samples over 3 replicas, seed 4, epochs 0 and 1, padded or cut.
    from torch.utils.data import DistributedSampler
    for drop_last in (False, True):
        for rank in range(3):
            sampler = DistributedSampler(range(10), num_replicas=3, rank=rank, seed=4,
                                         drop_last=drop_last)
            for epoch in (0, 1):
                sampler.set_epoch(epoch)
                t[f"sampler.drop{int(drop_last)}.rank{rank}.epoch{epoch}"] = torch.tensor(list(sampler))

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "random.safetensors")
    safetensors_py.save(path, t)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
