"""Image grids drawn with Pillow alone: misclassified samples, denoised images and convolution kernels.

Both work without matplotlib. A grid is a white sheet with a title line and tiles
laid out row by row, each tile an image scaled up with nearest-neighbour (pixels stay
square) and optional caption lines under it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import CheckpointError

PAD = 8                      # pixels between tiles and around the sheet
LINE = 16                    # caption line height
TITLE_COLOR, TEXT_COLOR, BAD_COLOR = (20, 20, 20), (60, 60, 60), (190, 30, 30)


def font(size: int = 13):
    """Pillow's built-in font at ``size`` (Pillow >= 10.1), else its fixed bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def fit_text(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> str:
    """``text`` cut short with "..." so that it is at most ``width`` pixels wide."""
    if draw.textlength(text, font=fnt) <= width:
        return text
    while text and draw.textlength(text + "...", font=fnt) > width:
        text = text[:-1]
    return text + "..."   # ASCII: older Pillow bitmap fonts have no "…"


def to_pil(image: np.ndarray, scale: int) -> Image.Image:
    """(C, H, W) or (H, W) floats in [0, 1] -> an 8-bit grey or RGB image, ``scale`` times larger."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)   # CHW -> HW or HWC
    a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    img = Image.fromarray(a)
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)


def tile_sheet(tiles: list[Image.Image], captions: list[list[tuple[str, tuple]]], cols: int,
               title: str) -> Image.Image:
    """Tiles (all the same size) in ``cols`` columns, each with caption lines ``(text, colour)``."""
    tw, th = tiles[0].size
    n_lines = max((len(c) for c in captions), default=0)
    cell_w, cell_h = tw + PAD, th + n_lines * LINE + PAD
    cols = max(1, min(cols, len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    title_font, caption_font = font(15), font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(PAD + cols * cell_w, int(probe.textlength(title, font=title_font)) + 2 * PAD)
    sheet = Image.new("RGB", (width, 2 * PAD + 24 + rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((PAD, PAD), title, fill=TITLE_COLOR, font=title_font)
    for i, (tile, lines) in enumerate(zip(tiles, captions)):
        x = PAD + (i % cols) * cell_w
        y = 2 * PAD + 24 + (i // cols) * cell_h
        sheet.paste(tile.convert("RGB"), (x, y))
        draw.rectangle((x - 1, y - 1, x + tw, y + th), outline=(170, 170, 170))
        for k, (text, color) in enumerate(lines):
            draw.text((x, y + th + 2 + k * LINE), fit_text(draw, text, caption_font, tw),
                      fill=color, font=caption_font)
    return sheet


def mistakes_sheet(images: np.ndarray, true: np.ndarray, pred: np.ndarray, confidence: np.ndarray,
                   names: list[str], title: str, cols: int = 8) -> Image.Image:
    """Misclassified images (N, C, H, W) in [0, 1] captioned with true / predicted class and confidence."""
    scale = max(1, 112 // images.shape[-1])           # 28 px -> 112 px
    tiles = [to_pil(im, scale) for im in images]
    captions = [[(f"true {names[t]}", TEXT_COLOR), (f"pred {names[p]}  {100 * c:.1f}%", BAD_COLOR)]
                for t, p, c in zip(true, pred, confidence)]
    return tile_sheet(tiles, captions, cols, title)


def denoise_sheet(noisy: np.ndarray, denoised: np.ndarray, clean: np.ndarray, title: str) -> Image.Image:
    """Three rows of images (N, C, H, W) in [0, 1]: the noisy inputs, the model's outputs and
    the clean targets, one column per sample; the first two rows captioned with their PSNR."""
    from ..nn.metrics import psnr

    scale = max(1, 112 // clean.shape[-1])            # 28 px -> 112 px
    rows = (("noisy", noisy), ("denoised", denoised), ("clean", clean))
    tiles = [to_pil(im, scale) for _, images in rows for im in images]
    captions = [[(f"{label} {psnr(im[None], target[None]):.1f} dB" if label != "clean" else label, TEXT_COLOR)]
                for label, images in rows for im, target in zip(images, clean)]
    return tile_sheet(tiles, captions, len(clean), title)


def first_conv(model):
    """The first ``Conv2D`` met walking the model depth first, or None."""
    return next((layer for layer in model.walk() if layer.type_name == "Conv2D"), None)


def kernel_tiles(W: np.ndarray, tile: int = 64) -> list[Image.Image]:
    """One tile per kernel of ``W`` (out, in, kh, kw), each min-max normalised on its own.

    Three input channels are shown as one RGB tile per output channel; any other count
    as one grey tile per (output, input) pair, row by row.
    """
    out_ch, in_ch, kh, kw = W.shape
    kernels = W if in_ch == 3 else W.reshape(out_ch * in_ch, 1, kh, kw)
    scale = max(1, tile // max(kh, kw))
    tiles = []
    for k in kernels.astype(np.float64):
        lo, hi = k.min(), k.max()
        k = (k - lo) / (hi - lo) if hi > lo else np.full_like(k, 0.5)
        tiles.append(to_pil(k, scale))
    return tiles


def plot_filters(ckpt, out) -> Path:
    """Write the first convolution's kernels of checkpoint ``ckpt`` as an image grid to ``out``."""
    from ..engine.checkpoint_content import plan_from_checkpoint

    plan, _ = plan_from_checkpoint(ckpt)
    cfg, conv = plan.config, first_conv(plan.model)
    if conv is None:
        raise CheckpointError(f"{ckpt}: the model has no Conv2D layer (nothing to show with --filters)")
    W = np.asarray(conv.params["W"])
    out_ch, in_ch, kh, kw = W.shape
    tiles = kernel_tiles(W)
    cols = in_ch if in_ch not in (1, 3) else math.ceil(math.sqrt(2 * len(tiles)))
    # ASCII and "·" only: Pillow's built-in font has no "×" or dashes
    title = (f"{cfg.get('name', Path(ckpt).stem)} · {conv.name}: {out_ch} kernels of "
             f"{in_ch}x{kh}x{kw}, each scaled from its own min (black) to max (white)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tile_sheet(tiles, [[] for _ in tiles], cols, title).save(out)
    return out
