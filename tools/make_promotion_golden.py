#!/usr/bin/python3
"""Regenerates tests/golden/promotion.txt: PyTorch's type promotion over ember's dtypes.

Needed only to regenerate the golden file, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_promotion_golden.py

One line per question, "<question> <operands...> <PyTorch's answer>", for every dtype (and pair):
  promote a b r          torch.promote_types(a, b)
  add a b r              (ones(2, a) + ones(2, b)).dtype          (two dimensioned tensors)
  add_zerodim a b r      (ones(2, a) + ones((), b)).dtype         (b a 0-dim tensor)
  add_scalar a k r       (ones(2, a) + s).dtype, s = True, 1 or 0.5 for k = bool, int, float
  div a b r              (ones(2, a) / ones(2, b)).dtype          (true division)
  eq a b r               (ones(2, a) == ones(2, b)).dtype
  sum a r                ones(2, a).sum().dtype
  all a r                ones(2, a).all().dtype
  can_cast a b r         torch.can_cast(a, b), 1 or 0
"""
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                   "promotion.txt")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64,
          "bool": torch.bool, "uint8": torch.uint8, "int32": torch.int32}
SCALARS = {"bool": True, "int": 1, "float": 0.5}


def name(dtype):
    return next(k for k, v in DTYPES.items() if v == dtype)


def lines():
    for a, ta in DTYPES.items():
        yield f"sum {a} {name(torch.ones(2, dtype=ta).sum().dtype)}"
        yield f"all {a} {name(torch.ones(2, dtype=ta).all().dtype)}"
        for k, s in SCALARS.items():
            yield f"add_scalar {a} {k} {name((torch.ones(2, dtype=ta) + s).dtype)}"
        for b, tb in DTYPES.items():
            x, y, z = torch.ones(2, dtype=ta), torch.ones(2, dtype=tb), torch.ones((), dtype=tb)
            yield f"promote {a} {b} {name(torch.promote_types(ta, tb))}"
            yield f"add {a} {b} {name((x + y).dtype)}"
            yield f"add_zerodim {a} {b} {name((x + z).dtype)}"
            yield f"div {a} {b} {name((x / y).dtype)}"
            yield f"eq {a} {b} {name((x == y).dtype)}"
            yield f"can_cast {a} {b} {int(torch.can_cast(ta, tb))}"


def main():
    with open(OUT, "w") as f:
        f.write(f"# PyTorch {torch.__version__}: tools/make_promotion_golden.py\n")
        for line in lines():
            f.write(line + "\n")


if __name__ == "__main__":
    main()
