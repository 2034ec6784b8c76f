"""Read hand-written digits with a trained checkpoint (what ``nnpy demo`` and ``nnpy serve`` run).

``DigitReader`` holds a model; ``read`` turns an image file (or its bytes, an upload) into
one result dict, as the model was trained: an image-folder model reads the file with its own
size, channels and preprocessing (``read_other``), a digit model finds the digit or the row of
digits in the grey levels (``read_image``):

* one digit: ``{"path", "label", "probs", "top", "box"}``, and ``"note"`` when the image
  looks like several digits (``"this looks like 4 digits: try --multi"``);
* a row (``multi=True``): ``{"path", "text", "digits": [{"label", "probs", "box"}, …]}``.

``box`` is ``[x0, y0, x1, y1]`` in the input image's pixels (exclusive ends). ``probs``
maps every class name to its probability. Preprocessing is in ``nnpy.digits.preprocess`` and
``nnpy.digits.segment``; this module only adds the model.
"""
from __future__ import annotations

import threading

import numpy as np

from ..data.images import decode_grey, iter_image_files, read_grey
from ..engine.checkpoint_content import plan_from_checkpoint
from ..engine.plan import data_source
from ..errors import DataError
from ..nn.metrics import class_probabilities
from .preprocess import digit_stages
from .segment import looks_like_a_row, segment_row


class DigitReader:
    """A checkpoint ready to read image files: ``(n, 28, 28)`` MNIST-style digits, or the
    images of the dataset it was trained on (the model normalizes its raw inputs itself).
    Thread-safe: one forward pass at a time."""

    def __init__(self, ckpt):
        self.ckpt = str(ckpt)
        plan, _ = plan_from_checkpoint(ckpt)
        self.model, self.config = plan.model, plan.config
        self.names = [str(n) for n in plan.data.class_names or range(self.model.output_shape[-1])]
        self.read_file = _file_reader(plan, ckpt)     # None: hand-written digits, the stages below
        self._forward_lock = threading.Lock()         # layers keep per-call state

    @property
    def reads_rows(self) -> bool:
        """Can it read a row of digits (``multi``)? Only a model of hand-written digits."""
        return self.read_file is None

    def check_multi(self, multi: bool) -> None:
        """A ``DataError`` naming the checkpoint when ``multi`` is asked of a model that reads
        no rows."""
        if multi and not self.reads_rows:
            raise DataError(f"{self.ckpt}: --multi reads rows of hand-written digits; this model "
                            f"reads '{self.config['data']['dataset']}' images, one per file")

    def read(self, path, data: bytes | None = None, multi: bool = False, topk: int = 3,
             keep_stages: bool = False, max_pixels: int | None = None) -> dict:
        """The result dict of the image file ``path``, or of ``data``, its bytes (an upload;
        ``path`` then only names it), read as the model was trained: ``read_other`` for an
        image-folder model, ``read_image`` of its grey levels for a digit model.
        ``max_pixels``: refuse larger images (a server's limit). A ``DataError`` names the
        file when it cannot be read, or the checkpoint when ``multi`` is asked of a model
        that reads no rows."""
        self.check_multi(multi)
        if self.read_file is not None:
            return self.read_other(path, topk, keep_stages, data, max_pixels)
        grey = read_grey(path) if data is None else decode_grey(data, str(path), max_pixels)
        return self.read_image(grey, str(path), multi, topk, keep_stages)

    def read_other(self, path, topk: int = 3, keep_stages: bool = False, data: bytes | None = None,
                   max_pixels: int | None = None) -> dict:
        """The result dict of an image file (or its bytes ``data``) for a model whose dataset
        reads images itself (``image_folder``: its size, channels, preprocessing); ``seen``
        is the model's input."""
        seen = self.read_file(path, data, max_pixels)                    # (C, H, W) in [0, 1]
        p = self._predict(seen[None])[0]
        return {"path": str(path), **self._entry(p, None, topk), **({"seen": seen} if keep_stages else {})}

    def probs(self, digits: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, C)`` float64 of ``digits`` ``(n, 28, 28)`` in [0, 1]."""
        return self._predict(np.asarray(digits)[:, None])

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, C)`` float64 of the model's raw inputs ``x`` ``(n, C, H, W)``
        in [0, 1] (the model normalizes them as in training)."""
        with self._forward_lock:
            return class_probabilities(self.model.predict(x.astype(np.float32)))

    def _row_note(self, grey: np.ndarray, stages, name: str) -> dict:
        """``{"note": "this looks like N digits: try --multi"}`` when an image read as one
        digit holds several side by side (``looks_like_a_row``, then counted as ``--multi``
        reads them), else ``{}``: one digit of a row is no answer for the row."""
        if not looks_like_a_row(stages):
            return {}
        n = len(segment_row(grey, name=name, read=self.probs).digits)
        return {"note": f"this looks like {n} digits: try --multi"} if n > 1 else {}

    def _entry(self, p: np.ndarray, box, topk: int | None = None) -> dict:
        order = np.argsort(-p)
        entry = {"label": self.names[order[0]],
                 "probs": {n: round(float(v), 6) for n, v in zip(self.names, p)},
                 "box": box}
        if topk:
            entry["top"] = [(self.names[i], float(p[i])) for i in order[:topk]]
        return entry

    def read_image(self, grey: np.ndarray, name: str, multi: bool = False, topk: int = 3,
                   keep_stages: bool = False) -> dict:
        """The result dict of one image's grey levels ``(H, W)`` (see the module docstring).
        ``keep_stages``: add the preprocessing stages under ``"stages"`` (for ``--explain``)."""
        if multi:
            row = segment_row(grey, name=name, read=self.probs)
            probs = self.probs(row.digits)
            digits = [self._entry(p, box) for p, box in zip(probs, row.boxes_in_input())]
            result = {"path": name, "text": "".join(d["label"] for d in digits), "digits": digits}
            stages = row
        else:
            stages = digit_stages(grey, name=name)
            result = {"path": name, **self._entry(self.probs(stages.digit[None])[0],
                                                  stages.box_in_input(), topk)}
            result.update(self._row_note(grey, stages, name))
        if keep_stages:
            result["stages"] = stages
        return result


def _file_reader(plan, ckpt):
    """``read(path, data, max_pixels) -> (C, H, W)`` float32 for a model trained on a dataset
    that reads image files itself (``image_folder``; ``data``: the file's bytes, or None), None
    for a digit model; a CSV model reads no images."""
    if plan.data.encoding is not None:
        raise DataError(f"{ckpt}: this model reads rows of a CSV table, not images: "
                        f"nnpy predict --ckpt {ckpt} --csv FILE")
    source = data_source(plan.config["data"]) if plan.config["data"]["dataset"] is not None else None
    if hasattr(source, "read_image"):
        return lambda path, data, max_pixels: source.read_image(path, plan.data.input_shape, data, max_pixels)
    return None


def _image_files(paths, failures: list):
    """Every image file of ``paths`` (folders expanded); missing paths go to ``failures``."""
    for path in paths:
        try:
            yield from iter_image_files([path])
        except DataError as exc:
            failures.append({"path": str(path), "error": str(exc), "stages": None})


def predict_files(paths, ckpt, topk: int = 3, multi: bool = False, keep_stages: bool = False):
    """``(results, failures)`` for every image in ``paths``: a result dict per image read
    (``DigitReader.read``), and ``{"path", "error", "stages"}`` per image that
    could not be (``stages``: what preprocessing made of it before it failed, or None)."""
    reader = ckpt if isinstance(ckpt, DigitReader) else DigitReader(ckpt)
    reader.check_multi(multi)                         # once, before any file is read
    results, failures = [], []
    for path in _image_files(paths, failures):
        try:
            results.append(reader.read(path, multi=multi, topk=topk, keep_stages=keep_stages))
        except DataError as exc:
            stages = getattr(exc, "stages", None) if keep_stages else None
            failures.append({"path": str(path), "error": str(exc), "stages": stages})
    return results, failures


def public(result: dict) -> dict:
    """``result`` without the keys that are not JSON (the stages, the model's input)."""
    return {k: v for k, v in result.items() if k not in ("stages", "seen")}


__all__ = ["DigitReader", "predict_files", "public"]
