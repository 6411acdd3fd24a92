#!/usr/bin/python3
"""Regenerates the decoding goldens: small images in tests/golden/images/ and what Pillow (the
decoder behind torchvision's ImageFolder) reads from them, converted as torchvision's loaders
convert: convert("RGB") and convert("L"), in tests/golden/images.safetensors (<file>.rgb (H, W, 3)
and <file>.gray (H, W), float64 0-255; 16-bit gray as its high byte, see below).

Needed only to regenerate the golden files, never to build or test ember. Run from the
repository root:  /usr/bin/python3 tools/make_image_goldens.py
"""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_py  # noqa: E402

OUT = "tests/golden/images"


def pattern(h, w, channels, seed):
    rng = np.random.default_rng(seed)
    smooth = np.linspace(0, 255, h * w * channels).reshape(h, w, channels)
    noise = rng.integers(0, 40, size=(h, w, channels))
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    images = {
        # JPEG, baseline and progressive, colour (4:2:0) and grayscale
        "rgb_13x9.jpg": (Image.fromarray(pattern(9, 13, 3, 0), "RGB"), {"quality": 90}),
        "rgb_progressive_16x8.jpg": (Image.fromarray(pattern(8, 16, 3, 1), "RGB"),
                                     {"quality": 85, "progressive": True}),
        "gray_7x5.jpg": (Image.fromarray(pattern(5, 7, 1, 2)[:, :, 0], "L"), {"quality": 95}),
        # PNG: RGBA (alpha dropped), palette, gray + alpha, 16-bit gray
        "rgba_6x4.png": (Image.fromarray(pattern(4, 6, 4, 3), "RGBA"), {}),
        "palette_5x3.png": (Image.fromarray(pattern(3, 5, 3, 4), "RGB").quantize(8), {}),
        "gray_alpha_4x4.png": (Image.fromarray(pattern(4, 4, 2, 5), "LA"), {}),
        "gray16_3x2.png": (Image.fromarray((pattern(2, 3, 1, 6)[:, :, 0].astype(np.uint16) * 257), "I;16"), {}),
        # BMP and TGA (stb_image)
        "rgb_5x4.bmp": (Image.fromarray(pattern(4, 5, 3, 7), "RGB"), {}),
        "rgb_3x5.tga": (Image.fromarray(pattern(5, 3, 3, 8), "RGB"), {}),
    }
    tensors = {}
    for name, (image, options) in images.items():
        path = os.path.join(OUT, name)
        image.save(path, **options)
        with Image.open(path) as read:
            if read.mode in ("I", "I;16"):
                # Pillow keeps 16-bit gray as integers, and its convert("L") / ("RGB") clip them
                # to 255; ember takes the high byte, as Pillow does for 16-bit colour PNGs.
                gray = np.asarray(read, dtype=np.float64) // 256
                rgb = np.repeat(gray[:, :, None], 3, axis=2)
            else:
                rgb = np.asarray(read.convert("RGB"), dtype=np.float64)
                gray = np.asarray(read.convert("L"), dtype=np.float64)
            tensors[name + ".rgb"], tensors[name + ".gray"] = rgb, gray
    safetensors_py.save("tests/golden/images.safetensors", tensors)


if __name__ == "__main__":
    main()
