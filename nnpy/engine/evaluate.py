"""``nnpy val``: a checkpoint evaluated on the test or validation split of its dataset."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from ..nn.metrics import confusion_matrix, mae, mse, per_class_accuracy, psnr
from .checkpoints import plan_from_checkpoint, stats_of
from .data_prep import prepare_data
from .plan import data_source
from .trainer import Trainer


def evaluate_checkpoint(path, split: str = "test", data_root=None) -> dict:
    """Loss and, for classification, accuracy, error, per-class accuracy and the confusion
    matrix (rows true, columns predicted); for regression MSE and MAE, and for image targets
    (N, C, H, W) the PSNR of the outputs and of the inputs themselves (``psnr``,
    ``input_psnr``: what a denoiser starts from); and in ``metrics``
    ``{name: value}`` of every metric the model was trained with.

    ``data_root``: where the dataset's files are, instead of the checkpoint's ``data.root``.
    The result also holds the evaluated ``inputs``, ``targets`` and ``predictions`` (for
    ``nnpy val --report``).
    """
    plan, payload = plan_from_checkpoint(path)
    data_section, train_section = plan.config["data"], plan.config["train"]
    if data_section["dataset"] is None:
        raise ConfigError(f"{path}: saved without a dataset (by Model.save): evaluate it in Python "
                          f"with nnpy.load(path).evaluate(x, y)")
    if data_root is not None:
        data_section = {**data_section, "root": str(data_root)}
    data = prepare_data(data_source(data_section), data_section, train_section, plan.config["seed"],
                        stats=stats_of(payload))
    differences = plan.data.differences(data.description) if data.description is not None else []
    if differences:
        raise DataError(f"{path}: the data read now is not what the model was trained on: "
                        f"{'; '.join(differences)}")
    if split == "val" and data.val is None:
        raise ConfigError(f"{path}: the run had no validation split (data.val_split is 0)")
    x, y = data.val if split == "val" else data.test
    model = plan.model
    trainer = Trainer.for_model(model, eval_batch_size=data_section["eval_batch_size"])
    result = trainer.evaluate(x, y, return_predictions=True)
    pred = result.pop("predictions")
    out = {"loss": result["loss"], "n": int(result["n"]), "split": split,
           "metrics": {m.name: result[m.name] for m in model.metrics}}
    if plan.data.task == "classification":
        cm = confusion_matrix(pred, y, plan.data.outputs)
        acc = float(np.trace(cm) / max(cm.sum(), 1))
        out.update({"accuracy": acc, "error": 1 - acc, "per_class": per_class_accuracy(cm).tolist(),
                    "confusion": cm.tolist(), "class_names": plan.data.class_names and list(plan.data.class_names)})
    else:
        spec = train_section["metric"]
        skip = spec.get("skip_steps", 0) if isinstance(spec, dict) else 0
        out.update({"mse": mse(pred, y, skip_steps=skip), "mae": mae(pred, y, skip_steps=skip), "skip_steps": skip})
        out.update(image_scores(x, y, pred, stats_of(payload)))
    out["inputs"], out["targets"], out["predictions"] = x, y, pred
    return out


def image_scores(x, y, pred, stats: dict | None) -> dict:
    """For image targets y (N, C, H, W): ``psnr`` of the outputs and, when the inputs have the
    targets' shape (a denoiser), ``input_psnr`` of the inputs with their normalization undone;
    nothing for other targets."""
    if np.ndim(y) != 4:
        return {}
    scores = {"psnr": psnr(pred, y)}
    if np.shape(x) == np.shape(y):
        if stats:
            x = x * np.asarray(stats["std"], dtype=np.float32) + np.asarray(stats["mean"], dtype=np.float32)
        scores["input_psnr"] = psnr(x, y)
    return scores
