#!/usr/bin/python3
"""Regenerates tests/golden/rnn.safetensors: torch.nn.LSTM and GRU forward and backward.

Needed only to regenerate the golden file, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_rnn_goldens.py

Per case C and dtype D (float32, float64): C.D.param.<name> (PyTorch's state_dict names),
C.D.x, C.D.h0 (and C.D.c0 for an LSTM) when the case passes an initial state, C.D.out, C.D.hn
(and C.D.cn), the cotangents C.D.gout, C.D.ghn (C.D.gcn), and the gradients of
sum(out * gout) + sum(hn * ghn) (+ sum(cn * gcn)): C.D.grad.x, C.D.grad.h0, C.D.grad.<param>.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "rnn.safetensors")

# name -> (module factory, input shape, pass an initial state)
CASES = {
    "lstm": (lambda: nn.LSTM(5, 4), (6, 3, 5), False),
    "lstm_deep_bi_batch_first": (lambda: nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True), (3, 6, 5), True),
    "lstm_unbatched_nobias": (lambda: nn.LSTM(3, 2, bias=False), (4, 3), True),
    "gru": (lambda: nn.GRU(5, 4), (6, 3, 5), True),
    "gru_deep_bi": (lambda: nn.GRU(5, 3, num_layers=2, bidirectional=True), (5, 2, 5), False),
}


def main():
    tensors = {}
    gen = torch.Generator().manual_seed(17)
    for name, (make, shape, with_state) in CASES.items():
        for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
            key = f"{name}.{tag}."
            module = make().to(dtype)
            with torch.no_grad():
                for p in module.parameters():
                    p.copy_(torch.rand(p.shape, generator=gen, dtype=dtype) - 0.5)
            lstm = isinstance(module, nn.LSTM)
            x = torch.randn(shape, generator=gen, dtype=dtype, requires_grad=True)
            layers = module.num_layers * (2 if module.bidirectional else 1)
            batch = () if len(shape) == 2 else (shape[0] if module.batch_first else shape[1],)
            state_shape = (layers, *batch, module.hidden_size)
            args, inputs = [x], {"x": x}
            if with_state:
                h0 = torch.randn(state_shape, generator=gen, dtype=dtype, requires_grad=True)
                inputs["h0"] = h0
                if lstm:
                    c0 = torch.randn(state_shape, generator=gen, dtype=dtype, requires_grad=True)
                    inputs["c0"] = c0
                    args.append((h0, c0))
                else:
                    args.append(h0)
            out, state = module(*args)
            hn, cn = state if lstm else (state, None)
            gout = torch.randn(out.shape, generator=gen, dtype=dtype)
            ghn = torch.randn(hn.shape, generator=gen, dtype=dtype)
            total = (out * gout).sum() + (hn * ghn).sum()
            results = {"out": out, "hn": hn, "gout": gout, "ghn": ghn}
            if lstm:
                gcn = torch.randn(cn.shape, generator=gen, dtype=dtype)
                total = total + (cn * gcn).sum()
                results.update(cn=cn, gcn=gcn)
            total.backward()
            for pname, p in module.named_parameters():
                tensors[key + "param." + pname] = p.detach().clone()
                tensors[key + "grad." + pname] = p.grad.clone()
            for iname, t in inputs.items():
                tensors[key + iname] = t.detach().clone()
                tensors[key + "grad." + iname] = t.grad.clone()
            for rname, t in results.items():
                tensors[key + rname] = t.detach().clone()
    safetensors_py.save(OUT, tensors)
    print(os.path.basename(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
