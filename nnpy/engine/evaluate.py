"""``nnpy val``: a checkpoint evaluated on the test or validation split of its dataset, and
what the command shows of it (``evaluation_lines``, ``evaluation_json``)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from ..nn.metrics import confusion_matrix, mae, mse, per_class_accuracy, psnr
from .checkpoint_content import plan_from_checkpoint, stats_of
from .data_prep import prepare_data
from .plan import data_source
from ..terminal import wrap_fields
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


def other_metrics(result: dict, shown) -> dict:
    """The metrics the model was trained with that ``nnpy val`` does not report anyway
    (``top5_accuracy`` of a classifier)."""
    return {name: value for name, value in result["metrics"].items() if name not in shown}


def evaluation_json(result: dict) -> dict:
    """What ``nnpy val --json`` prints of ``evaluate_checkpoint``'s result."""
    keys = ("loss", "accuracy", "error", "per_class", "confusion", "n") if "accuracy" in result \
        else ("loss", "mse", "mae", *(k for k in ("psnr", "input_psnr") if k in result), "n")
    return {**{k: result[k] for k in keys}, **other_metrics(result, keys)}


def evaluation_lines(ckpt, split: str, result: dict, width: int | None) -> list[str]:
    """The human-readable output of ``nnpy val`` (the per-class line wrapped to ``width``)."""
    lines = [f"{ckpt} · {split} split · {result['n']} samples", f"loss {result['loss']:.4f}"]
    others = "".join(f"  {name} {value:.4f}" for name, value in
                     other_metrics(result, ("accuracy", "mse", "mae", "psnr")).items())
    if "accuracy" not in result:
        return lines + [f"mse {result['mse']:.6f}  mae {result['mae']:.6f}{psnr_text(result)}{others}"]
    lines.append(f"accuracy {100 * result['accuracy']:.2f}%  error {100 * result['error']:.2f}%{others}")
    names = [str(n) for n in (result.get("class_names") or range(len(result["per_class"])))]
    per_class = [f"{n} {100 * a:.1f}%" for n, a in zip(names, result["per_class"])]
    return lines + wrap_fields(["per class:", *per_class], width) + confusion_lines(result["confusion"], names)


def psnr_text(result: dict) -> str:
    """``  psnr 18.52 dB (input 9.41 dB)`` for image targets, else empty."""
    if "psnr" not in result:
        return ""
    start = f" (input {result['input_psnr']:.2f} dB)" if "input_psnr" in result else ""
    return f"  psnr {result['psnr']:.2f} dB{start}"


def confusion_lines(confusion, names: list[str]) -> list[str]:
    """The confusion matrix as text: one row per true class (``k name``, or ``k`` alone when the
    name is the number), one column per predicted class, headed by its number ``k``."""
    k = len(confusion)
    width = max(len(str(k - 1)), *(len(str(v)) for row in confusion for v in row)) + 1
    row_names = [str(i) if name == str(i) else f"{i} {name[:14]}" for i, name in enumerate(names)]
    label = max(map(len, row_names))
    lines = ["confusion matrix (rows: true class, columns: predicted class, by number):",
             " " * label + "".join(str(j).rjust(width) for j in range(k))]
    for row_name, row in zip(row_names, confusion):
        lines.append(row_name.ljust(label) + "".join(str(v).rjust(width) for v in row))
    return lines
