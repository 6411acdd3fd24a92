#!/usr/bin/python3
"""Regenerates tests/golden/*.safetensors from PyTorch (Debian's python3-torch).

Needed only to regenerate the golden files, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_goldens.py

autograd.safetensors: for each composite expression E and dtype D (f32, f64):
  E.D.in<i>  inputs;  E.D.gout  the upstream gradient;  E.D.out  the output;
  E.D.grad<i>  d<gout, out>/d in<i>.
python_written.safetensors: tensors of every dtype ember reads, and metadata, written by hand
with json + struct (tools/safetensors_py.py), to prove the reader against an outside writer.
"""
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


def expressions():
    """name -> (input shapes, function, kinds) where kinds marks inputs needing positive values."""
    def mlp(x, w, b):
        return torch.log_softmax(torch.tanh(x @ w + b), dim=1)

    def norm(x, g):
        mu = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * g

    def attention(q, k, v):
        return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v

    def pointwise(x, p):
        return torch.log(torch.sigmoid(x) + torch.exp(-x * x)) * torch.pow(p, 1.5) + torch.erf(x) / p

    def picks(x):
        target = torch.tensor([[2], [0], [3]])
        nll = -torch.gather(torch.log_softmax(x, dim=1), 1, target)
        rows = torch.index_select(x, 0, torch.tensor([2, 0]))
        return torch.cat([nll.expand(3, 2).reshape(-1), rows.reshape(-1)]) * 1.0

    def extremes(x, y):
        m = torch.amax(x, dim=1, keepdim=True)
        return torch.relu(x - 0.1) * torch.maximum(x, y) + torch.clamp(y, -0.5, 0.5) - m

    def batched(a, b):
        return torch.matmul(a, b).sum(dim=0)

    def views(x):
        y = x.permute(2, 0, 1)[1:, :, ::2]
        return torch.stack([y.select(0, 0), y.narrow(0, 1, 1).squeeze(0)], dim=0).unsqueeze(1).flatten(2)

    def trig(x, y):
        mask = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1]], dtype=torch.bool)
        waves = (torch.sin(x) * torch.cos(y)).masked_fill(mask, 0.25)
        return waves + x.std(dim=1, keepdim=True) * torch.linalg.vector_norm(y, 3.0, dim=0)

    def sorts(x):
        v, i = torch.sort(x, dim=1, descending=True)
        t, j = torch.topk(x, 2, dim=0)
        k = torch.argsort(x, dim=0)
        return torch.cat([(v * v).flatten(), t.flatten(), i.flatten().to(x.dtype),
                          j.flatten().to(x.dtype), k.flatten().to(x.dtype)])

    def scans(x):
        z = x * torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]], dtype=x.dtype)
        return torch.cat([torch.cumsum(x, 1).flatten(), torch.cumprod(z, 1).flatten(),
                          torch.prod(z, 1), torch.prod(x, 0, keepdim=True).flatten(),
                          torch.prod(x).reshape(1), torch.logsumexp(x, 1),
                          torch.logsumexp(x, (0, 1), keepdim=True).flatten()])

    def rearranged(x, y):
        moved = torch.flip(y, [0, 1]) * torch.roll(y, 1, 1) + torch.roll(y, (2, -1), (0, 1))
        triangles = torch.tril(y, -1) + torch.triu(y, 1) * 2 + torch.tril(y)
        p, q = torch.split(y, [1, 3], dim=1)
        rows = torch.unbind(y, 0)
        return torch.cat([x.repeat(2, 1, 2).flatten(), moved.flatten(), triangles.flatten(),
                          (p * q).flatten(), rows[0] * rows[2]])

    def rounding(x, y):
        return (torch.floor(x * 3) * x + torch.ceil(x * 3) * y + torch.round(x * 3)
                + torch.lerp(x, y, 0.3) + torch.lerp(x, y, torch.sigmoid(y)))

    def index_basic(x):
        return torch.cat([x[1:, None, ..., 0].flatten(), x[-1, ::2].flatten(),
                          x[..., 1:4:2].flatten()])

    def index_tensors(x):
        i, j = torch.tensor([[0, 2], [1, 3]]), torch.tensor([4, 0])
        k, m = torch.tensor([2, 0, -1]), torch.tensor([1, 4, 3])
        adjacent, apart, after_int = x[:, i, j], x[k, :, m], x[0, :, m]
        repeated = x[torch.tensor([0, 0, 2])]
        return torch.cat([adjacent.flatten(), apart.flatten(), after_int.flatten(),
                          repeated.flatten(), torch.tensor(list(adjacent.shape) + list(apart.shape)
                                                           + list(after_int.shape), dtype=x.dtype)])

    def index_put(x, v, w):
        y = x.clone()
        y[1:, 2] = v
        z = x.index_put((torch.tensor([0, 2, 0]), torch.tensor([1, 1, 3])), w, accumulate=True)
        u = x.index_put((torch.tensor([2, 1]),), v[:, None] * 1.0)
        return torch.cat([y.flatten(), z.flatten(), u.flatten()])

    def masked(x):
        mask = torch.tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 1]], dtype=torch.bool)
        return torch.cat([torch.masked_select(x, mask), torch.masked_select(x, mask[0]) * 2])

    def scattered(x, src):
        idx = torch.tensor([[2, 0], [1, 3], [0, 0]])
        return torch.cat([torch.scatter(x, 1, idx[:, :1], src[:, :1]).flatten(),
                          x.scatter(1, torch.tensor([[3], [0], [2]]), 2.5).flatten(),
                          torch.scatter_add(x, 1, idx, src[:, :2]).flatten()])

    def einsums(a, b, c, q, k):
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1)
        return torch.cat([torch.einsum("ij,jk->ik", a, b).flatten(),
                          torch.einsum("ij,kj", a, c).flatten(),
                          torch.einsum("i,j->ij", a[0], b[:, 0]).flatten(),
                          torch.einsum("ii", a[:, :2]).reshape(1),
                          torch.einsum("bij->j", torch.stack([a, a * 2])),
                          torch.einsum("bhqk,bhkd->bqhd", scores, k).flatten(),
                          torch.diagonal(b, 1), torch.diagonal(b, -1),
                          torch.diagonal(q, 0, 2, 3).flatten()])

    return {
        "mlp": ([(4, 5), (5, 3), (3,)], mlp, ""),
        "norm": ([(3, 6), (6,)], norm, ""),
        "attention": ([(2, 5, 4), (2, 6, 4), (2, 6, 3)], attention, ""),
        "pointwise": ([(3, 4), (3, 4)], pointwise, "xp"),
        "picks": ([(3, 4)], picks, ""),
        "extremes": ([(3, 5), (3, 5)], extremes, ""),
        "batched": ([(3, 2, 4), (4, 5)], batched, ""),
        "views": ([(2, 3, 4)], views, ""),
        "trig": ([(3, 4), (3, 4)], trig, ""),
        "sorts": ([(3, 5)], sorts, ""),
        "scans": ([(3, 4)], scans, ""),
        "rearranged": ([(2, 3), (3, 4)], rearranged, ""),
        "rounding": ([(3, 4), (3, 4)], rounding, ""),
        "index_basic": ([(3, 4, 5)], index_basic, ""),
        "index_tensors": ([(3, 4, 5)], index_tensors, ""),
        "index_put": ([(3, 4), (2,), (3,)], index_put, ""),
        "masked": ([(3, 4)], masked, ""),
        "scattered": ([(3, 4), (3, 2)], scattered, ""),
        "einsums": ([(2, 3), (3, 4), (4, 3), (1, 2, 3, 2), (1, 2, 4, 2)], einsums, ""),
    }


def make_autograd():
    gen = torch.Generator().manual_seed(1234)
    tensors = {}
    for name, (shapes, fn, kinds) in expressions().items():
        base = []
        for i, s in enumerate(shapes):
            t = torch.randn(*s, generator=gen, dtype=torch.float64)
            if i < len(kinds) and kinds[i] == "p":
                t = t.abs() + 0.5
            base.append(t)
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            inputs = [t.to(dtype).requires_grad_() for t in base]
            out = fn(*inputs)
            gout = torch.randn(*out.shape, generator=gen, dtype=torch.float64).to(dtype)
            grads = torch.autograd.grad(out, inputs, gout)
            for i, t in enumerate(inputs):
                tensors[f"{name}.{tag}.in{i}"] = t.detach()
                tensors[f"{name}.{tag}.grad{i}"] = grads[i]
            tensors[f"{name}.{tag}.out"] = out.detach()
            tensors[f"{name}.{tag}.gout"] = gout
    safetensors_py.save(os.path.join(OUT, "autograd.safetensors"), tensors,
                        metadata={"generator": "tools/make_goldens.py", "torch": torch.__version__})


def make_python_written():
    bf16 = struct.pack("<3H", 0x3F80, 0xC000, 0x3E80)  # 1.0, -2.0, 0.25 as bfloat16
    safetensors_py.save(
        os.path.join(OUT, "python_written.safetensors"),
        {"f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
         "f64": np.array([1e-300, -2.5, np.pi]),
         "i64": np.array([[-(2 ** 62), 7]], dtype=np.int64),
         "f16": np.array([0.5, -1.5, 65504.0], dtype=np.float16),
         "scalar": np.array(3.25, dtype=np.float32),
         "empty": np.zeros((0, 2), dtype=np.float32)},
        metadata={"format": "pt", "written_by": "python json+struct"},
        raw={"bf16": ("BF16", (3,), bf16)})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_autograd()
    make_python_written()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")
