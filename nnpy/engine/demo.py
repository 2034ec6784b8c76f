"""Classify image files with a trained checkpoint (what ``nnpy demo`` runs)."""
from __future__ import annotations

import numpy as np

from ..data.images import iter_image_files, load_digit
from ..errors import DataError
from ..nn.losses import softmax
from .checkpoints import plan_from_checkpoint, stats_of
from .data_prep import normalize_array
from .plan import data_source


def _image_files(paths, failures: list):
    """Every image file of ``paths`` (folders expanded); missing paths go to ``failures``."""
    for path in paths:
        try:
            yield from iter_image_files([path])
        except DataError as exc:
            failures.append(str(exc))


def predict_files(paths, ckpt: str, topk: int = 3):
    """([{path, label, probs, top}], [error lines]) for every image in ``paths``."""
    plan, payload = plan_from_checkpoint(ckpt)
    model, stats = plan.model, stats_of(payload)
    names = list(plan.data.class_names or [str(i) for i in range(model.output_shape[-1])])
    read = _input_reader(plan, ckpt)
    results, failures = [], []
    for path in _image_files(paths, failures):
        try:
            image = read(path)
        except DataError as exc:
            failures.append(str(exc))
            continue
        x = normalize_array(image[None].astype(np.float32), stats)
        probs = softmax(model.forward(x, training=False)[0].astype(np.float64))
        order = np.argsort(-probs)[:topk]
        results.append({"path": str(path), "label": str(names[order[0]]),
                        "probs": {str(names[i]): round(float(probs[i]), 6) for i in range(len(probs))},
                        "top": [(str(names[i]), float(probs[i])) for i in order]})
    return results, failures


def _input_reader(plan, ckpt):
    """``read(path) -> (C, H, W)`` float32: how the checkpoint's model reads an image file. A
    dataset that reads image files itself (``image_folder``: its size, channels and
    preprocessing) says how; other models read MNIST-style digits."""
    if plan.data.encoding is not None:
        raise DataError(f"{ckpt}: this model reads rows of a CSV table, not images: "
                        f"nnpy predict --ckpt {ckpt} --csv FILE")
    source = data_source(plan.config) if plan.config["data"]["dataset"] is not None else None
    if hasattr(source, "read_image"):
        return lambda path: source.read_image(path, plan.data.input_shape)
    return lambda path: load_digit(path)[None]
