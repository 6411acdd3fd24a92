#!/usr/bin/python3
"""Regenerates tests/golden/attention.safetensors from PyTorch (Debian's python3-torch).
Only needed to regenerate; never to build or test ember. Run from the repository root:
    /usr/bin/python3 tools/make_attention_goldens.py

The 2-D modules reproduce github.com/cmsflash/efficient-attention (efficient_attention.py):
1x1-conv keys/queries/values; per head, keys softmaxed over positions (dim=2), queries over
channels (dim=1), context = key @ value^T, out = context^T @ query; heads concatenated; 1x1
reprojection; residual add. DotProductAttention is the non-local counterpart with the same
projections: per head, softmax(Q^T K / sqrt(d_k)) over keys, out = V A^T.
EfficientSelfAttention (tokens) is written from its definition (see the class below).
For each case C and dtype D: C.D.param.<name>, C.D.x, C.D.gout, C.D.out, C.D.grad.x,
C.D.grad.<name> (and for mha and esa_cross: .key, .mask, .grad.key).
"""
import os
import sys

import torch
from torch import nn
from torch.nn import functional as f

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")


class EfficientAttention(nn.Module):
    """The official module (github cmsflash/efficient-attention), its per-head loop as there;
    DotProductAttention shares its projections and differs only in attend()."""

    def __init__(self, in_channels, key_channels, head_count, value_channels):
        super().__init__()
        self.key_channels, self.head_count, self.value_channels = key_channels, head_count, value_channels
        self.keys = nn.Conv2d(in_channels, key_channels, 1)
        self.queries = nn.Conv2d(in_channels, key_channels, 1)
        self.values = nn.Conv2d(in_channels, value_channels, 1)
        self.reprojection = nn.Conv2d(value_channels, in_channels, 1)

    def attend(self, key, query, value):
        """One head: key, query (N, hk, HW), value (N, hv, HW) -> (N, hv, HW)."""
        context = f.softmax(key, dim=2) @ value.transpose(1, 2)
        return context.transpose(1, 2) @ f.softmax(query, dim=1)

    def forward(self, input_):
        n, _, h, w = input_.size()
        keys = self.keys(input_).reshape((n, self.key_channels, h * w))
        queries = self.queries(input_).reshape(n, self.key_channels, h * w)
        values = self.values(input_).reshape((n, self.value_channels, h * w))
        hk, hv = self.key_channels // self.head_count, self.value_channels // self.head_count
        attended = []
        for i in range(self.head_count):
            key, query = keys[:, i * hk:(i + 1) * hk, :], queries[:, i * hk:(i + 1) * hk, :]
            value = values[:, i * hv:(i + 1) * hv, :]
            attended.append(self.attend(key, query, value).reshape(n, hv, h, w))
        return self.reprojection(torch.cat(attended, dim=1)) + input_


class DotProductAttention(EfficientAttention):
    def attend(self, key, query, value):
        hk = key.size(1)
        attn = f.softmax((query.transpose(1, 2) * hk ** -0.5) @ key, dim=2)
        return value @ attn.transpose(1, 2)


class EfficientSelfAttention(nn.Module):
    """Efficient attention over tokens: x (B, N, E), context (B, M, E). Per head, each query
    softmaxed over its channels, each key channel over the (unmasked) context tokens;
    context = K^T V (d x d); out = Q context; heads concatenated; linear reprojection."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.heads = num_heads
        self.queries = nn.Linear(embed_dim, embed_dim)
        self.keys = nn.Linear(embed_dim, embed_dim)
        self.values = nn.Linear(embed_dim, embed_dim)
        self.reprojection = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, context, mask=None):
        b, n, e = x.shape
        m, h = context.shape[1], self.heads
        q = f.softmax(self.queries(x).view(b, n, h, e // h), dim=3)
        k = self.keys(context).view(b, m, h, e // h)
        if mask is not None:
            k = k.masked_fill(mask.view(b, m, 1, 1), float("-inf"))
        k = f.softmax(k, dim=1)
        v = self.values(context).view(b, m, h, e // h)
        ctx = torch.einsum("bmhd,bmhc->bhdc", k, v)
        out = torch.einsum("bnhd,bhdc->bnhc", q, ctx).reshape(b, n, e)
        return self.reprojection(out)


def record(tensors, key, module, inputs, gen, mask=None):
    module.zero_grad(set_to_none=True)
    for name, p in module.state_dict().items():
        tensors[key + "param." + name] = p.detach().clone()
    xs = [x.clone().requires_grad_() for x in inputs]
    if isinstance(module, EfficientSelfAttention):
        out = module(xs[0], xs[-1], mask)
    elif mask is None:
        out = module(*xs)
    else:
        out = module(xs[0], xs[1], xs[1], key_padding_mask=mask, need_weights=False)[0]
    gout = torch.randn(tuple(out.shape), generator=gen, dtype=torch.float64).to(out.dtype)
    out.backward(gout)
    tensors[key + "x"], tensors[key + "out"], tensors[key + "gout"] = inputs[0], out.detach(), gout
    tensors[key + "grad.x"] = xs[0].grad
    if len(xs) > 1:
        tensors[key + "key"], tensors[key + "grad.key"] = inputs[1], xs[1].grad
    for name, p in module.named_parameters():
        tensors[key + "grad." + name] = p.grad


def main():
    gen = torch.Generator().manual_seed(21)
    tensors = {}
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        for name, cls in (("efficient2d", EfficientAttention), ("dot2d", DotProductAttention)):
            torch.manual_seed(1)
            m = cls(6, 8, 2, 4).to(dtype)
            x = torch.randn(2, 6, 3, 4, generator=gen, dtype=torch.float64).to(dtype)
            record(tensors, f"{name}.{tag}.", m, [x], gen)
        torch.manual_seed(1)
        mha = nn.MultiheadAttention(8, 2, batch_first=True).to(dtype)
        with torch.no_grad():  # non-zero biases, to test them too
            mha.in_proj_bias.copy_(torch.randn(24, generator=gen, dtype=torch.float64).to(dtype) * 0.1)
            mha.out_proj.bias.copy_(torch.randn(8, generator=gen, dtype=torch.float64).to(dtype) * 0.1)
        q = torch.randn(2, 5, 8, generator=gen, dtype=torch.float64).to(dtype)
        kv = torch.randn(2, 7, 8, generator=gen, dtype=torch.float64).to(dtype)
        mask = torch.tensor([[0, 0, 0, 0, 0, 1, 1], [0, 0, 1, 0, 0, 0, 0]], dtype=torch.bool)
        record(tensors, f"mha.{tag}.", mha, [q, kv], gen, mask)
        tensors[f"mha.{tag}.mask"] = mask.to(torch.int64)
        # EfficientSelfAttention: self-attention, then cross-attention with a mask.
        torch.manual_seed(1)
        esa = EfficientSelfAttention(8, 2).to(dtype)
        record(tensors, f"esa_self.{tag}.", esa, [q], gen)
        record(tensors, f"esa_cross.{tag}.", esa, [q, kv], gen, mask)
        tensors[f"esa_cross.{tag}.mask"] = mask.to(torch.int64)
    safetensors_py.save(os.path.join(OUT, "attention.safetensors"), tensors)
    print("attention.safetensors", os.path.getsize(os.path.join(OUT, "attention.safetensors")), "bytes")


if __name__ == "__main__":
    main()
