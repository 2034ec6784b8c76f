"""Run an experiment from a validated config: data, model, training, evaluation, inference.

This is the glue the command line calls; the Python API can call it too.
"""
from __future__ import annotations

import copy
import datetime as _dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .. import __version__
from ..data.loader import DataLoader, split_train_val
from ..data.transforms import build_transforms
from ..errors import CheckpointError, ConfigError, RegistryError
from ..io.checkpoint import load_checkpoint, save_checkpoint
from ..models import build_model
from ..nn.losses import build_loss
from ..nn.metrics import get_metric
from ..optim import build_optimizer, build_scheduler
from ..registry import DATASETS
from .model import Model, derived_seed, model_from_payload
from .callbacks import Checkpointer, ConsoleLogger, CSVLogger, EarlyStopping, MaxTime, StopOnSignal
from .summary import summary
from .timer import Timer
from .trainer import Trainer, TrainState


@dataclass
class Data:
    """What training and evaluation need from the data section."""
    train_loader: DataLoader
    val: tuple | None
    test: tuple
    input_shape: tuple
    outputs: int
    task: str
    class_names: list | None
    stats: dict            # normalization actually used (stored in checkpoints)


def normalization_stats(normalize, x_train) -> dict | None:
    """``{"mean": …, "std": …}`` from the config (numbers) or computed from x_train (``auto``)."""
    if normalize is None or normalize is False:
        return None
    if normalize == "auto":
        if x_train.ndim == 2:  # feature vectors: one mean/std per feature
            mean, std = x_train.mean(axis=0), x_train.std(axis=0)
            std = np.where(std > 0, std, 1.0)
            return {"mean": mean.astype(np.float64).tolist(), "std": std.astype(np.float64).tolist()}
        return {"mean": float(x_train.mean()), "std": float(x_train.std() or 1.0)}
    return {"mean": normalize["mean"], "std": normalize["std"]}


def load_dataset(data_cfg: dict):
    spec = {"type": data_cfg["dataset"], **(data_cfg.get("options") or {})}
    if data_cfg.get("root") is not None:
        spec["root"] = data_cfg["root"]
    if data_cfg.get("limit") is not None:
        spec["limit"] = data_cfg["limit"]
    try:
        return DATASETS.build(spec)
    except (ConfigError, RegistryError) as exc:  # a bad option value: point at the config
        raise ConfigError(f"data.options ({data_cfg['dataset']}): {exc}") from None


def normalize_array(x, stats):
    if stats is None or not np.issubdtype(x.dtype, np.floating):
        return x
    mean = np.asarray(stats["mean"], dtype=x.dtype)
    std = np.asarray(stats["std"], dtype=x.dtype)
    return ((x - mean) / std).astype(x.dtype, copy=False)


def kfold_split(x, y, fold: int, folds: int, seed: int):
    """Fold ``fold`` (0-based) of ``folds``: (x_train, y_train, x_val, y_val), seeded, order kept."""
    perm = np.random.default_rng(derived_seed(seed, 3)).permutation(len(x))
    val_idx = np.sort(perm[fold::folds])
    train_idx = np.sort(np.setdiff1d(perm, val_idx, assume_unique=True))
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def prepare_data(cfg: dict, stats: dict | None = None, need_train: bool = True, fold: tuple | None = None) -> Data:
    """Load the dataset, split off validation (or fold ``(i, k)``), build the training loader."""
    d = cfg["data"]
    ds = load_dataset(d)
    seed = cfg["seed"]
    x_tr, y_tr = ds.x_train, ds.y_train
    val = None
    if fold is not None:
        x_tr, y_tr, x_val, y_val = kfold_split(x_tr, y_tr, fold[0], fold[1], seed)
        val = (x_val, y_val)
    elif d["val_split"]:
        try:
            x_tr, y_tr, x_val, y_val = split_train_val(x_tr, y_tr, d["val_split"], seed=derived_seed(seed, 3))
        except ValueError as exc:
            raise ConfigError(f"data.val_split: {exc}") from None
        val = (x_val, y_val)
    if stats is None:
        stats = normalization_stats(d["normalize"], x_tr)
    transform = build_transforms(d.get("augment"), stats) if need_train else None
    loader = DataLoader(x_tr, y_tr, batch_size=d["batch_size"], shuffle=d["shuffle"], drop_last=d["drop_last"],
                        seed=derived_seed(seed, 2), transform=transform)
    if val is not None:
        val = (normalize_array(val[0], stats), val[1])
    test = (normalize_array(ds.x_test, stats), ds.y_test)
    if ds.task == "classification":
        outputs = ds.num_classes
    else:
        outputs = int(np.prod(ds.y_train.shape[2:] if ds.y_train.ndim > 2 else ds.y_train.shape[1:]) or 1)
    return Data(loader, val, test, tuple(ds.input_shape), int(outputs), ds.task, ds.class_names, stats or {})


def build_components(cfg: dict, input_shape, outputs: int):
    """Model (initialized from the seed), loss, optimizer and scheduler of a config."""
    seed = cfg["seed"]
    model = build_model(cfg["model"], input_shape, outputs, rng=np.random.default_rng(derived_seed(seed, 0)),
                        model_class=Model, seed=seed)
    model.set_rng(np.random.default_rng(derived_seed(seed, 1)))  # dropout draws
    loss = build_loss(cfg["loss"])
    opt_spec = dict(cfg["optimizer"])
    if cfg["train"].get("max_grad_norm") is not None:
        opt_spec.setdefault("max_grad_norm", cfg["train"]["max_grad_norm"])
    optimizer = build_optimizer(opt_spec, model)
    scheduler = build_scheduler(cfg["scheduler"], optimizer) if cfg.get("scheduler") else None
    model.loss, model.optimizer, model.scheduler = loss, optimizer, scheduler
    model.metric_name = get_metric(cfg["train"]["metric"])[0]
    return model, loss, optimizer, scheduler


def checkpoint_payload(trainer: Trainer, cfg: dict, data_stats: dict, task: str, class_names) -> dict:
    """Everything needed to evaluate, predict with, or resume the run exactly."""
    return {
        "config": cfg,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "rng": trainer.model.rng.bit_generator.state,
        "state": trainer.state.to_dict(),
        "data": {"stats": data_stats, "task": task, "class_names": class_names},
        "metrics": trainer.state.history[-1] if trainer.state.history else {},
        "saved_at": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_differences(old: dict, new: dict) -> list[str]:
    a, b = flatten(old), flatten(new)
    return sorted(k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>"))


def make_run_dir(cfg: dict) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(cfg["log"]["dir"]) / cfg["name"]
    run_dir = base / stamp
    k = 1
    while run_dir.exists():
        k += 1
        run_dir = base / f"{stamp}-{k}"
    run_dir.mkdir(parents=True)
    return run_dir


def train_kfold(cfg: dict, stdout=None, **kwargs) -> dict:
    """K-fold cross-validation (``train.kfold: K``): K runs, each validated on one fold of the
    training set; prints and returns the mean (and spread) of the final validation metric."""
    stdout = stdout or sys.stdout
    k = cfg["train"]["kfold"]
    base_dir = Path(cfg["checkpoint"]["dir"])
    values, results = [], []
    for i in range(k):
        fold_cfg = copy.deepcopy(cfg)
        fold_cfg["checkpoint"]["dir"] = str(base_dir / f"fold{i + 1}")
        print(f"--- fold {i + 1}/{k} ---", file=stdout, flush=True)
        result = train(fold_cfg, stdout=stdout, fold=(i, k), **kwargs)
        results.append(result)
        if result["state"].exit_code:
            return result
        monitor = f"val_{result['trainer'].metric_name}"
        values.append(result["state"].history[-1][monitor])
    mean, std = float(np.mean(values)), float(np.std(values))
    print(f"{k}-fold cross-validation: {monitor} per fold "
          + ", ".join(f"{v:.4f}" for v in values) + f"; mean {mean:.4f} ± {std:.4f}", file=stdout, flush=True)
    return {**results[-1], "kfold": {"values": values, "mean": mean, "std": std}}


def train(cfg: dict, resume: str | None = None, allow_change=(), profile: bool = False,
          stdout=None, progress: bool | None = None, command: str | None = None, callbacks=(),
          fold: tuple | None = None) -> dict:
    """Train the model of ``cfg``; return a summary dict (best value, paths, stop reason)."""
    stdout = stdout or sys.stdout
    cfg = copy.deepcopy(cfg)
    if cfg["train"].get("kfold") and fold is None:
        if resume:
            raise ConfigError("--resume cannot be combined with train.kfold; resume one fold's run instead")
        return train_kfold(cfg, stdout=stdout, allow_change=allow_change, profile=profile, progress=progress,
                           command=command, callbacks=callbacks)
    payload = None
    if resume:
        payload = load_checkpoint(resume)
        old = payload.get("config")
        if not isinstance(old, dict):
            raise CheckpointError(f"{resume}: no config inside")
        old_cmp = {k: v for k, v in old.items() if k != "model_io"}
        diffs = config_differences(old_cmp, {k: v for k, v in cfg.items() if k != "model_io"})
        refused = [k for k in diffs if not any(k == a or k.startswith(a + ".") for a in allow_change)]
        if refused:
            raise ConfigError(f"--resume {resume}: the config differs from the checkpoint's in "
                              f"{', '.join(refused)}; pass --allow-change KEY for each change you intend")
    data = prepare_data(cfg, stats=(payload or {}).get("data", {}).get("stats") or None, fold=fold)
    cfg["model_io"] = {"input_shape": list(data.input_shape), "outputs": data.outputs}
    model, loss, optimizer, scheduler = build_components(cfg, data.input_shape, data.outputs)
    timer = Timer()
    t = cfg["train"]
    trainer = Trainer(model, loss, optimizer, scheduler, metric=t["metric"], timer=timer,
                      eval_batch_size=cfg["data"]["eval_batch_size"])
    trainer.batches_per_epoch = len(data.train_loader)
    state = None
    if payload is not None:
        state = restore_training(trainer, payload, resume)
    run_dir = make_run_dir(cfg)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(
        {k: v for k, v in cfg.items() if k != "model_io"}, sort_keys=False))
    ckpt_dir = Path(cfg["checkpoint"]["dir"] or Path("checkpoints") / cfg["name"])

    def save(path, tr):
        save_checkpoint(path, checkpoint_payload(tr, cfg, data.stats, data.task, data.class_names))

    log_file = open(run_dir / "train.log", "a")
    console = ConsoleLogger(stream=stdout, progress=progress, log_file=log_file)
    run_callbacks = [StopOnSignal(), console, CSVLogger(run_dir / "metrics.csv"),
                 Checkpointer(ckpt_dir, save, monitor=cfg["checkpoint"]["monitor"],
                              save_last=cfg["checkpoint"]["save_last"], save_best=cfg["checkpoint"]["save_best"])]
    if t.get("early_stopping"):
        es = t["early_stopping"]
        run_callbacks.append(EarlyStopping(es["monitor"], es["patience"], es["min_delta"]))
    if t.get("max_time"):
        run_callbacks.append(MaxTime(t["max_time"]))
    trainer.callbacks = [*run_callbacks, *callbacks]
    if profile:
        timer.profile_layers(model)
    try:
        console.write(f"nnpy {__version__} · run {cfg['name']} · seed {cfg['seed']} · logs in {run_dir}")
        console.write(summary(model))
        console.write(f"data: {cfg['data']['dataset']} · {len(data.train_loader.x)} train"
                      + (f" · {len(data.val[0])} val" if data.val is not None else "")
                      + f" · {len(data.test[0])} test · batch {cfg['data']['batch_size']}")
        if state is not None:
            console.write(f"resuming from {resume}: epoch {state.epoch}, batch {state.batch}")
        trainer.fit(data.train_loader, data.val, epochs=t["epochs"], state=state)
        st = trainer.state
        if st.stop_reason:
            console.write(f"stopped: {st.stop_reason}")
        if st.stop and st.epoch < trainer.epochs and cfg["checkpoint"]["save_last"] and \
                not st.stop_reason.startswith("early stopping"):
            last = ckpt_dir / "last.json"
            console.write(f"saved {last} (epoch {st.epoch + 1}, batch {st.batch}); resume with:\n"
                          f"  {command or 'nnpy train --config <config>'} --resume {last}")
        console.write(timer.report())
        if st.best_value is not None:
            console.write(f"best {cfg['checkpoint']['monitor']} {st.best_value:.4f} at epoch {st.best_epoch} "
                          f"→ {ckpt_dir / 'best.json'}")
    finally:
        timer.unwrap()
        log_file.close()
    return {"state": trainer.state, "run_dir": run_dir, "checkpoint_dir": ckpt_dir, "trainer": trainer,
            "data": data}


def restore_training(trainer: Trainer, payload: dict, path) -> TrainState:
    """Load model, optimizer, scheduler, RNG and loop state for an exact resume."""
    try:
        trainer.model.load_state_dict(payload["model"])
        trainer.optimizer.load_state_dict(payload["optimizer"])
        if trainer.scheduler is not None and payload.get("scheduler"):
            trainer.scheduler.load_state_dict(payload["scheduler"])
        trainer.model.rng.bit_generator.state = payload["rng"]
        return TrainState.from_dict(payload["state"])
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot resume from this checkpoint: {exc}") from None


def load_for_inference(path) -> tuple:
    """(model, config, data info) of a checkpoint, ready for ``forward(x, training=False)``."""
    payload = load_checkpoint(path)
    return model_from_payload(payload, path), payload["config"], payload.get("data") or {}


def validate(path, split: str = "test", data_root=None) -> dict:
    """Evaluate a checkpoint on ``split``; classification: loss, accuracy, per-class, confusion.

    ``data_root``: where the dataset's files are, instead of the checkpoint's ``data.root``.
    """
    from ..nn.metrics import confusion_matrix, mae, mse, per_class_accuracy

    model, cfg, info = load_for_inference(path)
    if data_root is not None:
        cfg["data"]["root"] = str(data_root)
    data = prepare_data(cfg, stats=(info or {}).get("stats") or None, need_train=False)
    if split == "val":
        if data.val is None:
            raise ConfigError(f"{path}: the run had no validation split (data.val_split is 0)")
        x, y = data.val
    else:
        x, y = data.test
    loss = build_loss(cfg["loss"])
    trainer = Trainer(model, loss, optimizer=None, metric=cfg["train"]["metric"],
                      eval_batch_size=cfg["data"]["eval_batch_size"])
    result = trainer.evaluate(x, y, return_predictions=True)
    pred = result.pop("predictions")
    out = {"loss": result["loss"], "n": int(result["n"])}
    metric_spec = cfg["train"]["metric"]
    options = {k: v for k, v in metric_spec.items() if k != "type"} if isinstance(metric_spec, dict) else {}
    if data.task == "classification":
        k = data.outputs
        cm = confusion_matrix(pred, y, k)
        acc = float(np.trace(cm) / max(cm.sum(), 1))
        per_class = per_class_accuracy(cm).tolist()
        out.update({"accuracy": acc, "error": 1 - acc, "per_class": per_class, "confusion": cm.tolist(),
                    "class_names": data.class_names})
    else:
        skip = options.get("skip_steps", 0)
        out.update({"mse": mse(pred, y, skip_steps=skip), "mae": mae(pred, y, skip_steps=skip), "skip_steps": skip})
    out["split"] = split
    # for reports (nnpy val --report): the evaluated data and the model's outputs
    out["inputs"], out["targets"], out["predictions"] = x, y, pred
    return out


def export_checkpoint(src, dst) -> dict:
    """Write an inference-only copy of ``src``: config, weights, data statistics and final
    metrics, without optimizer moments or generator state (about half the size; not resumable).
    The config's ``data.root`` (a path on the machine that trained it) becomes null, so the
    copy looks for its dataset in the usual places."""
    payload = load_checkpoint(src)
    slim = {key: payload[key] for key in ("config", "model", "data", "metrics") if key in payload}
    if isinstance(slim.get("config", {}).get("data"), dict):
        slim["config"] = {**slim["config"], "data": {**slim["config"]["data"], "root": None}}
    state = payload.get("state") or {}
    slim["state"] = {k: state.get(k) for k in ("epoch", "best_value", "best_epoch")}
    slim["exported_from"] = str(src)
    save_checkpoint(dst, slim)
    return slim
