#!/usr/bin/env python3
"""Draw a small image-folder dataset of circles, squares and triangles: ``data/shapes/``.

The example of ``dataset: image_folder`` (``configs/shapes.yaml``), laid out as a folder of
your own photos would be::

    data/shapes/train/circle/circle_0000.png …   (300 per class)
    data/shapes/test/circle/circle_0000.jpg …    (100 per class)

Each image is one filled shape of a random colour (any hue, vivid to dark) on pale paper of
another random tint (a linear gradient between two tints, a little grain), of a random size
(its circumscribed circle 40–84 % of the image side), position and rotation, drawn at 4× and
reduced for smooth edges. Colour tells nothing of the class: the model must learn the outline. Every third file is a JPEG,
the others PNG. Deterministic: image ``i`` of class ``c`` in split ``s`` uses
``numpy.random.default_rng([seed, s, c, i])``.

    python tools/make_shapes.py                        # data/shapes, 300 + 100 per class, 64×64
    python tools/make_shapes.py --out /tmp/shapes --train 50 --test 20 --size 32

Only numpy and Pillow are needed.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
SUPERSAMPLE = 4
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "shapes"


def polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """The vertices of a square or an equilateral triangle inscribed in the circle (cx, cy, r),
    turned by ``angle`` radians."""
    corners = 4 if shape == "square" else 3
    return [(cx + r * math.cos(angle + 2 * math.pi * k / corners),
             cy + r * math.sin(angle + 2 * math.pi * k / corners)) for k in range(corners)]


def hsv_colour(rng: np.random.Generator, saturation: tuple, value: tuple) -> np.ndarray:
    """An RGB colour (0-255) of random hue with saturation and value drawn from the ranges."""
    hsv = np.array([[[rng.uniform(0, 255), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]])
    return np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"), dtype=np.float64)[0, 0]


def colours(rng: np.random.Generator) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The shape's colour (any hue, vivid or dark) and the two ends of the background gradient
    (a pale tint of any hue), so the shape always stands out as darker than its paper."""
    shape = hsv_colour(rng, (0.35, 1.0), (0.15, 0.75))
    back_a, back_b = hsv_colour(rng, (0.0, 0.3), (0.85, 1.0)), hsv_colour(rng, (0.0, 0.3), (0.85, 1.0))
    return tuple(int(c) for c in shape), back_a, back_b


def draw_shape(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One ``size``×``size`` RGB image of ``shape`` (see the module docstring)."""
    fill, back_a, back_b = colours(rng)
    big = size * SUPERSAMPLE
    t = np.linspace(0.0, 1.0, big)[None, :, None]
    direction = rng.uniform(0, 2 * math.pi)
    ramp = (math.cos(direction) * t + math.sin(direction) * t.transpose(1, 0, 2)) / 2 + 0.5
    background = back_a * (1 - ramp) + back_b * ramp
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8), "RGB")
    r = rng.uniform(0.2, 0.42) * big
    cx, cy = rng.uniform(r, big - r), rng.uniform(r, big - r)
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon(polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=fill)
    image = image.resize((size, size), Image.Resampling.BOX)
    grain = rng.normal(0.0, 4.0, size=(size, size, 3))
    return Image.fromarray(np.clip(np.asarray(image) + grain, 0, 255).astype(np.uint8), "RGB")


def make_shapes(out: Path, train: int = 300, test: int = 100, size: int = 64, seed: int = 0) -> int:
    """Write ``out/train/<class>/`` and ``out/test/<class>/``; the number of images written."""
    written = 0
    for split_index, (split, count) in enumerate((("train", train), ("test", test))):
        for class_index, shape in enumerate(CLASSES):
            folder = Path(out) / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, split_index, class_index, i])
                image = draw_shape(shape, size, rng)
                if i % 3 == 2:
                    image.save(folder / f"{shape}_{i:04d}.jpg", quality=90)
                else:
                    image.save(folder / f"{shape}_{i:04d}.png")
                written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default data/shapes)")
    parser.add_argument("--train", type=int, default=300, help="training images per class")
    parser.add_argument("--test", type=int, default=100, help="test images per class")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = make_shapes(args.out, args.train, args.test, args.size, args.seed)
    print(f"wrote {n} images to {args.out} ({', '.join(CLASSES)}; train/ and test/)")


if __name__ == "__main__":
    main()
