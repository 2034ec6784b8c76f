"""``nnpy predict``: a CSV model's predictions for the rows of a CSV file.

The file is encoded as the model was trained (the columns and categories stored in the
checkpoint's ``data.description.encoding``); the target column may be there or not. The output
table is the input's columns followed by ``predicted_<target>`` and, for a classifier, the
probability of every class (``prob_<class>``).
"""
from __future__ import annotations

import numpy as np

from ..data.csv_table import read_table
from ..data.csv_dataset import encode_features
from ..errors import DataError
from ..nn.metrics import class_probabilities
from .checkpoint_content import plan_from_checkpoint


def predict_csv(ckpt, csv_path) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the predictions table for ``csv_path`` (see the module docstring)."""
    plan, _ = plan_from_checkpoint(ckpt)
    encoding = plan.data.encoding
    if encoding is None or "features" not in encoding:
        raise DataError(f"{ckpt}: not a model trained on a CSV table (dataset "
                        f"'{plan.config['data']['dataset']}'): nnpy predict reads CSV rows; for images "
                        f"use nnpy demo")
    table = read_table(csv_path, plan.config["data"]["options"].get("delimiter", ","))
    outputs = plan.model.predict(encode_features(table, encoding))     # the model normalizes them itself
    target = encoding["target"]
    header = [*table.header, f"predicted_{target}"]
    cells = np.stack([table.columns[name] for name in table.header], axis=1).tolist()
    if plan.data.task == "regression":
        return header, [row + [f"{v:.7g}"] for row, v in zip(cells, outputs[:, 0].tolist())]
    names = list(plan.data.class_names or range(outputs.shape[1]))
    probs = class_probabilities(outputs)
    header += [f"prob_{name}" for name in names]
    best = probs.argmax(axis=1).tolist()
    return header, [row + [str(names[k])] + [f"{p:.6f}" for p in ps]
                    for row, k, ps in zip(cells, best, probs.tolist())]
