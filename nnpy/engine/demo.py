"""Classify image files with a trained checkpoint (what ``nnpy demo`` runs)."""
from __future__ import annotations

import numpy as np

from ..data.images import iter_image_files, load_digit
from ..errors import DataError
from .experiment import load_for_inference, normalize_array


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _image_files(paths, failures: list):
    """Every image file of ``paths`` (folders expanded); missing paths go to ``failures``."""
    for path in paths:
        try:
            yield from iter_image_files([path])
        except DataError as exc:
            failures.append(str(exc))


def predict_files(paths, ckpt: str, topk: int = 3):
    """([{path, label, probs, top}], [error lines]) for every image in ``paths``."""
    model, cfg, info = load_for_inference(ckpt)
    stats = (info or {}).get("stats") or None
    names = (info or {}).get("class_names") or [str(i) for i in range(model.output_shape[-1])]
    results, failures = [], []
    for path in _image_files(paths, failures):
        try:
            image = load_digit(path)
        except DataError as exc:
            failures.append(str(exc))
            continue
        x = normalize_array(image[None, None].astype(np.float32), stats)
        probs = softmax(model.forward(x, training=False)[0].astype(np.float64))
        order = np.argsort(-probs)[:topk]
        results.append({"path": str(path), "label": str(names[order[0]]),
                        "probs": {str(names[i]): round(float(probs[i]), 6) for i in range(len(probs))},
                        "top": [(str(names[i]), float(probs[i])) for i in order]})
    return results, failures
