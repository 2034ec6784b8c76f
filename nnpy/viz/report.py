"""``nnpy val --report DIR``: an evaluation written up as ``report.md`` with its figures.

Classification: ``confusion.png`` (counts, coloured by the fraction of each true class),
``mistakes.png`` (the test images the model got wrong with the highest confidence, shown
as the dataset stores them, i.e. un-normalized with the checkpoint's data statistics) and
``report.md`` (accuracy, error, a per-class table, links to both). Regression: ``report.md``
with MSE and MAE; for image targets (a denoiser) also PSNR and ``denoised.png``, rows of
noisy inputs, the model's outputs and the clean targets (drawn with Pillow).

The numbers, the evaluated images and the model's outputs all come from
``evaluate_checkpoint``'s result: the model is not run again.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.checkpoint_content import stats_of
from ..io.checkpoint import load_checkpoint
from ..nn.metrics import class_probabilities, true_labels
from . import new_figure, save_figure
from .grids import denoise_sheet, mistakes_sheet

N_MISTAKES = 32
N_DENOISED = 8      # columns of denoised.png


def unnormalize(x: np.ndarray, stats: dict | None) -> np.ndarray:
    """Undo ``(x - mean) / std`` (scalar or per-channel statistics) for display, clipped to [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if stats:
        mean, std = (np.asarray(stats[k], dtype=np.float64) for k in ("mean", "std"))
        if mean.ndim == 1 and mean.size == x.shape[1]:       # one value per channel
            mean, std = mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)
        x = x * std + mean
    return np.clip(x, 0, 1)


def confusion_figure(cm: np.ndarray, names: list[str], title: str, out: Path) -> None:
    """The confusion matrix with its counts; colour: fraction of the row's true class."""
    from matplotlib.colors import PowerNorm

    k = len(names)
    side = max(6.0, 0.55 * k + 2.5)
    fig = new_figure((side + 1.2, side))
    ax = fig.subplots()
    fraction = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    # gamma < 1 stretches the low end so that a few percent of confusion is visible next to the diagonal
    image = ax.imshow(fraction, cmap="Blues", norm=PowerNorm(0.4, vmin=0, vmax=1))
    if k <= 30:
        size = 10 if k <= 12 else 7
        for i in range(k):
            for j in range(k):
                if cm[i, j] or i == j:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=size,
                            color="white" if fraction[i, j] > 0.4 else "black",
                            fontweight="bold" if i == j else "normal")
    labels = [str(n) for n in names]
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                  if max(map(len, labels)) > 2 else "center", fontsize=9)
    ax.set_yticks(range(k), labels, fontsize=9)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=11)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_ticks([0, 0.01, 0.05, 0.2, 0.5, 1], labels=["0", "1%", "5%", "20%", "50%", "100%"])
    bar.set_label("fraction of the true class")
    save_figure(fig, out)


def _percent(v: float) -> str:
    return f"{100 * v:.2f} %"


def per_class_table(cm: np.ndarray, names: list[str]) -> list[str]:
    """Markdown rows: class, samples, accuracy (recall), precision, most frequent wrong prediction."""
    rows = ["| class | samples | accuracy | precision | most often taken for |",
            "|---|---:|---:|---:|---|"]
    predicted = cm.sum(axis=0)
    for i, name in enumerate(names):
        n = int(cm[i].sum())
        wrong = cm[i].copy()
        wrong[i] = 0
        j = int(wrong.argmax())
        confused = f"{names[j]} ({int(wrong[j])})" if wrong[j] else "—"
        accuracy = _percent(cm[i, i] / n) if n else "—"
        precision = _percent(cm[i, i] / predicted[i]) if predicted[i] else "—"
        rows.append(f"| {name} | {n} | {accuracy} | {precision} | {confused} |")
    return rows


def write_report(ckpt, result: dict, out_dir, command: str | None = None) -> Path:
    """Write ``report.md`` (and for classification its PNGs) for ``evaluate_checkpoint(ckpt)``'s ``result``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = load_checkpoint(ckpt)
    cfg = payload["config"]
    metrics = payload.get("metrics") or {}
    split = result["split"]
    lines = [f"# Evaluation of `{ckpt}`", "",
             f"Run **{cfg.get('name', '?')}**, checkpoint of epoch {metrics.get('epoch', '?')}"
             + (f" (saved {payload['saved_at']})" if payload.get("saved_at") else "")
             + f", evaluated on the **{split}** split: {result['n']} samples.", ""]
    if "accuracy" not in result:
        lines += _regression_section(result, payload, out_dir)
    else:
        lines += _classification_section(ckpt, payload, result, out_dir)
    if command:
        lines += ["", f"Made with `{command}`."]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _regression_section(result: dict, payload: dict, out_dir: Path) -> list[str]:
    skip = result.get("skip_steps") or 0
    note = f" (the first {skip} time steps of each sequence are not scored)" if skip else ""
    rows = [f"| PSNR of the outputs | {result['psnr']:.2f} dB |"] if "psnr" in result else []
    if "input_psnr" in result:
        rows.append(f"| PSNR of the inputs themselves | {result['input_psnr']:.2f} dB |")
    lines = ["| measure | value |", "|---|---:|",
             f"| loss | {result['loss']:.6g} |",
             f"| mean squared error | {result['mse']:.6g} |",
             f"| mean absolute error | {result['mae']:.6g} |", *rows, "",
             f"Errors are over every predicted value{note}."]
    if "input_psnr" in result:
        return lines + [""] + _denoised(payload, result, out_dir)
    return lines + ["", "This is a regression checkpoint: there is no confusion matrix or grid of misclassified "
                        "images (they apply to classification), so no PNG was written."]


def _denoised(payload: dict, result: dict, out_dir: Path) -> list[str]:
    """Draw ``denoised.png`` (noisy / denoised / clean rows of the first samples); the report's lines."""
    n = min(N_DENOISED, result["n"])
    noisy = unnormalize(result["inputs"][:n], stats_of(payload))
    denoised, clean = (np.clip(result[k][:n], 0, 1) for k in ("predictions", "targets"))
    title = (f"{payload['config'].get('name', '')} · {result['split']} split · first {n} images: "
             f"noisy input, output, clean target (PSNR of each)")
    denoise_sheet(noisy, denoised, clean, title).save(out_dir / "denoised.png")
    return ["## Noisy, denoised, clean", "", "![noisy, denoised and clean images](denoised.png)", "",
            f"The first {n} images of the {result['split']} split: the noisy inputs (top row), the "
            f"model's outputs (middle) and the clean targets (bottom), each with its PSNR against the "
            f"clean image. PSNR = 10·log10(1 / MSE) for images in [0, 1], averaged over the images."]


def _classification_section(ckpt, payload: dict, result: dict, out_dir: Path) -> list[str]:
    cm = np.asarray(result["confusion"])
    names = [str(n) for n in (result.get("class_names") or range(len(cm)))]
    split = result["split"]
    n_errors = int(cm.sum() - np.trace(cm))
    title = f"{payload['config'].get('name', '')} · {split} split · accuracy {_percent(result['accuracy'])}"
    confusion_figure(cm, names, title, out_dir / "confusion.png")
    lines = ["| measure | value |", "|---|---:|",
             f"| loss | {result['loss']:.4f} |",
             f"| accuracy | {_percent(result['accuracy'])} |",
             f"| error | {_percent(result['error'])} ({n_errors} of {result['n']}) |", "",
             "## Confusion matrix", "",
             "![confusion matrix](confusion.png)", "",
             "Rows are the true classes, columns the predicted ones; each cell counts the samples, "
             "its colour is the fraction of the row's true class (the diagonal is the per-class "
             "accuracy).", "",
             "## Per class", "", *per_class_table(cm, names), "",
             "## Most confidently misclassified", ""]
    return lines + _mistakes(payload, result, names, out_dir)


def _mistakes(payload: dict, result: dict, names: list[str], out_dir: Path) -> list[str]:
    """Draw ``mistakes.png`` from the data and outputs ``evaluate_checkpoint`` evaluated; the report's lines."""
    stats = stats_of(payload)
    split, x, y = result["split"], result["inputs"], result["targets"]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        return [f"No image grid: the inputs have shape {x.shape[1:]}, not images."]
    probs = class_probabilities(result["predictions"])
    pred, true = probs.argmax(axis=1), true_labels(y, probs.shape[1])
    wrong = np.flatnonzero(pred != true)
    if wrong.size == 0:
        return ["Every sample is classified correctly: no mistakes to show."]
    confidence = probs[wrong, pred[wrong]]
    worst = wrong[np.argsort(-confidence, kind="stable")[:N_MISTAKES]]
    title = (f"The {len(worst)} most confident mistakes of {len(wrong)} on the {split} split "
             f"({len(x)} images): true class, predicted class and its probability")
    sheet = mistakes_sheet(unnormalize(x[worst], stats), true[worst], pred[worst],
                           probs[worst, pred[worst]], names, title)
    sheet.save(out_dir / "mistakes.png")
    return ["![most confidently misclassified](mistakes.png)", "",
            f"The {len(worst)} of the {len(wrong)} misclassified images that the model was surest "
            f"about, most confident first (probability of the predicted class, softmax of the "
            f"outputs). Images are shown as stored in the dataset (normalization undone)."]
