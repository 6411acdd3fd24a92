#!/usr/bin/python3
"""Regenerates tests/golden/vit.safetensors from PyTorch (Debian's python3-torch): the small
vision transformer of WORKLOADS.md (W5), written out below as its peer defines it.
Only needed to regenerate; never to build or test ember. Run from the repository root:
    /usr/bin/python3 tools/make_vit_goldens.py

block.<kind>.<dtype>.*  one pre-norm block of width 32 with 4 heads (kind efficient or dot;
        dtype f64 or f32) on random tokens (2, 49, 32) with randomized parameters: param.<name>, x, gout, out, grad.x,
        grad.<name>.
init.<name>             FashionViT(efficient) after torch.manual_seed(0): its initial state_dict.
traj.x, traj.y          20 fixed batches of 32 after torch.manual_seed(7): rand(20, 32, 1, 28, 28)
        (mapped to (x - 0.5) / 0.3) and randint(0, 10, (20, 32)); ember draws them again with its
        generator (bit-equal to PyTorch's for rand and randint), so they are not stored.
traj.loss               the 20 training losses from init.*: AdamW(lr 1e-3, weight decay 0.05),
        OneCycleLR(max_lr 1e-3, total_steps 20), one step per batch, as the peer trains.
"""
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


class EfficientSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.queries, self.keys, self.values = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.reprojection = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, e = x.shape
        h, d = self.heads, e // self.heads
        q = self.queries(x).view(b, n, h, d).transpose(1, 2)   # (b, h, n, d)
        k = self.keys(x).view(b, n, h, d).transpose(1, 2)
        v = self.values(x).view(b, n, h, d).transpose(1, 2)
        q = q.softmax(dim=-1)                                  # each query over its channels
        k = k.softmax(dim=-2)                                  # each key channel over the tokens
        context = k.transpose(-2, -1) @ v                      # (b, h, d, d)
        out = (q @ context).transpose(1, 2).reshape(b, n, e)
        return self.reprojection(out)


class Block(nn.Module):
    def __init__(self, dim, heads, attention):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.efficient = attention == "efficient"
        self.attn = (EfficientSelfAttention(dim, heads) if self.efficient
                     else nn.MultiheadAttention(dim, heads, batch_first=True))
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + (self.attn(h) if self.efficient else self.attn(h, h, h, need_weights=False)[0])
        return x + self.mlp(self.norm2(x))


class FashionViT(nn.Module):
    def __init__(self, attention="efficient", dim=64, depth=4, heads=4, patch=4):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, patch, stride=patch)
        n = (28 // patch) ** 2
        self.pos = nn.Parameter(torch.randn(1, n, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, attention) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))


def make_blocks(t):
    gen = torch.Generator().manual_seed(31)
    for kind in ("efficient", "dot"):
        torch.manual_seed(2)
        base = Block(32, 4, kind).double()
        with torch.no_grad():  # non-trivial norms and biases, so that their gradients are tested
            for p in base.parameters():
                p.add_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.1)
        x64 = torch.randn(2, 49, 32, generator=gen, dtype=torch.float64)
        g64 = torch.randn(2, 49, 32, generator=gen, dtype=torch.float64)
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            block = Block(32, 4, kind)
            block.load_state_dict(base.state_dict())
            block = block.to(dtype)
            key = f"block.{kind}.{tag}."
            for name, p in block.state_dict().items():
                t[key + "param." + name] = p.detach().clone()
            x = x64.to(dtype).detach().clone().requires_grad_()
            out = block(x)
            out.backward(g64.to(dtype))
            t[key + "x"], t[key + "gout"], t[key + "out"] = x.detach(), g64.to(dtype), out.detach()
            t[key + "grad.x"] = x.grad
            for name, p in block.named_parameters():
                t[key + "grad." + name] = p.grad


def make_trajectory(t):
    torch.manual_seed(0)
    model = FashionViT("efficient")
    for name, v in model.state_dict().items():
        t["init." + name] = v.detach().clone()
    torch.manual_seed(7)
    xs = (torch.rand(20, 32, 1, 28, 28) - 0.5) / 0.3
    ys = torch.randint(0, 10, (20, 32))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=20)
    losses = []
    model.train()
    for step in range(20):
        loss = F.cross_entropy(model(xs[step]), ys[step])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    t["traj.loss"] = torch.tensor(losses, dtype=torch.float64)


def main():
    t = {}
    make_blocks(t)
    make_trajectory(t)
    path = os.path.join(OUT, "vit.safetensors")
    safetensors_py.save(path, t)
    print("vit.safetensors", os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
