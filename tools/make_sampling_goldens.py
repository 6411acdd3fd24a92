#!/usr/bin/python3
"""Regenerates tests/golden/sampling.safetensors: PyTorch's samples for a seed, and tensors of the
bool, uint8 and int32 dtypes as Python writes them.

Needed only to regenerate the golden file, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_sampling_goldens.py

After torch.manual_seed(0), in this order (each draw continues the same generator):
  bernoulli_f32  bernoulli(p_f32), p_f32 = linspace(0, 1, 1000) in float32
  bernoulli_f64  bernoulli(p_f64), p_f64 = linspace(0, 1, 500) in float64
  bernoulli_p    empty(300).bernoulli_(0.3)
  exponential    empty(200, float64).exponential_(2.5)
  multinomial_replacement     multinomial(w, 50, replacement=True), w (2, 10) float32 below
  multinomial_no_replacement  multinomial(w, 3)
  multinomial_one             multinomial(w[1], 1)
  multinomial_f64             multinomial(w in float64, 40, replacement=True)
written.<dtype>: small tensors of bool, uint8 and int32.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                   "sampling.safetensors")


def main():
    torch.manual_seed(0)
    p_f32 = torch.linspace(0, 1, 1000)
    p_f64 = torch.linspace(0, 1, 500, dtype=torch.float64)
    w = torch.tensor([[1, 0, 2, 3, 0.5, 0, 4, 1, 1, 2], [0, 0, 0, 5, 1, 0, 0, 0, 2, 0.25]])
    t = {"p_f32": p_f32, "p_f64": p_f64, "weights": w}
    t["bernoulli_f32"] = torch.bernoulli(p_f32)
    t["bernoulli_f64"] = torch.bernoulli(p_f64)
    t["bernoulli_p"] = torch.empty(300).bernoulli_(0.3)
    t["exponential"] = torch.empty(200, dtype=torch.float64).exponential_(2.5)
    t["multinomial_replacement"] = torch.multinomial(w, 50, replacement=True)
    t["multinomial_no_replacement"] = torch.multinomial(w, 3)
    t["multinomial_one"] = torch.multinomial(w[1], 1)
    t["multinomial_f64"] = torch.multinomial(w.double(), 40, replacement=True)
    t["written.bool"] = np.array([True, False, True])
    t["written.uint8"] = np.array([0, 200, 255], dtype=np.uint8)
    t["written.int32"] = np.array([-5, 7, 2**31 - 1], dtype=np.int32)
    safetensors_py.save(OUT, t)


if __name__ == "__main__":
    main()
