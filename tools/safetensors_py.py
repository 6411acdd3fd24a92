"""Minimal safetensors writer in plain Python (json + struct), used by the golden-file scripts.

Layout: 8-byte little-endian header length, the JSON header, then the raw little-endian bytes of
each tensor in header order; the header is padded with spaces to a multiple of 8 bytes.
"""
import json
import struct

import numpy as np

_CODES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64",
          np.dtype("float16"): "F16", np.dtype("int32"): "I32", np.dtype("uint8"): "U8",
          np.dtype("bool"): "BOOL"}


def save(path, tensors, metadata=None, raw=None):
    """tensors: name -> numpy array (or torch tensor). raw: name -> (code, shape, bytes) for
    dtypes numpy lacks (BF16)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    items = [(k, v) for k, v in tensors.items()]
    for name, value in items:
        arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
        arr = np.require(arr, requirements="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _CODES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    for name, (code, shape, data) in (raw or {}).items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for c in chunks:
            fh.write(c)
