"""From a config's ``data`` section to arrays and a loader: load, limit, split, normalize.

    data = prepare_data(plan.source, cfg["data"], cfg["train"], cfg["seed"], augmentation=plan.augmentation)
    data.train_loader                        # seeded, resumable batches (augmented, normalized)
    data.val, data.test                      # (x, y), normalized
    data.stats                               # the normalization used (saved in checkpoints)
    data.skipped, data.notes                 # files the dataset left out, how it read its data
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.datasets import DataDescription, DataSource
from ..data.loader import DataLoader, RandomBatchLoader, split_train_val
from ..data.transforms import Compose, make_transforms
from ..errors import ConfigError
from .seeds import SHUFFLE, VAL_SPLIT, derived_seed


@dataclass
class PreparedData:
    """What training and evaluation need from the data section."""
    train_loader: DataLoader
    val: tuple | None
    test: tuple
    stats: dict | None     # {"mean": …, "std": …} actually used, or None
    description: DataDescription | None = None   # what the data read describes itself as
    skipped: tuple = field(default=())           # "file: reason" of every input left out
    notes: tuple = field(default=())             # how the dataset read its data (for the log)


def prepare_data(source: DataSource, data: dict, train: dict, seed: int, stats: dict | None = None,
                 augmentation: Compose | None = None, fold: tuple | None = None) -> PreparedData:
    """Load the dataset ``source`` (first ``data.limit`` samples), split off validation (or fold
    ``(i, k)`` of ``train.kfold``), normalize, and build the training loader.

    ``data``, ``train``: those sections of the config (``train``: a run in steps, ``train.steps``,
    draws its batches at random). ``stats``: the normalization to use (a checkpoint's) instead
    of the config's. ``augmentation``: the training batches' transforms before the
    normalization (None when only evaluation follows).
    """
    ds = source.load(limit=data["limit"])
    x_tr, y_tr, val, test = ds.x_train, ds.y_train, None, (ds.x_test, ds.y_test)
    held_out = getattr(source, "holds_out_validation", False)
    if held_out:                                            # e.g. a text's last 10%: its test split
        val = test
    elif fold is not None:
        x_tr, y_tr, x_val, y_val = kfold_split(x_tr, y_tr, fold[0], fold[1], seed)
        val = (x_val, y_val)
    elif data["val_split"]:
        x_tr, y_tr, x_val, y_val = _split(x_tr, y_tr, data, seed)
        val = (x_val, y_val)
    if data["augment"] and augmentation is not None and ds.task == "regression" and y_tr.ndim == 4:
        raise ConfigError(f"data.augment: dataset '{ds.name}' has image targets, and augmentation would move "
                          f"the input images but not their targets; remove data.augment")
    if stats is None:
        stats = normalization_stats(data["normalize"], x_tr)
    transform = None if augmentation is None else training_transform(augmentation, stats)
    if train["steps"] is not None:
        loader = RandomBatchLoader(x_tr, y_tr, data["batch_size"], train["eval_every"], derived_seed(seed, SHUFFLE),
                                   transform)
        if val is not None and train["eval_batches"] is not None:
            val = random_samples(val, train["eval_batches"] * data["batch_size"], derived_seed(seed, VAL_SPLIT))
            test = val if held_out else test     # nnpy val: the same batches, not every window of the text
    else:
        loader = DataLoader(x_tr, y_tr, batch_size=data["batch_size"], shuffle=data["shuffle"],
                            drop_last=data["drop_last"], seed=derived_seed(seed, SHUFFLE), transform=transform)
    if val is not None:
        val = (normalize_array(val[0], stats), val[1])
    return PreparedData(loader, val, (normalize_array(test[0], stats), test[1]), stats, ds.description,
                        ds.skipped, ds.notes)


def training_transform(augmentation: Compose, stats: dict | None) -> Compose:
    """The training batches' transform: ``augmentation``, then the normalization by ``stats``."""
    return Compose([*augmentation.transforms, *make_transforms(normalize=stats).transforms])


def random_samples(data: tuple, count: int, seed: int) -> tuple:
    """``count`` samples of ``data`` (x, y) drawn with replacement, fixed by ``seed``: the
    validation batches of a run in steps (``train.eval_batches``), the same at every evaluation."""
    rows = np.random.default_rng(seed).integers(0, len(data[0]), count)
    return data[0][rows], data[1][rows]


def _split(x, y, data_cfg: dict, seed: int):
    """``data.val_split`` held out of (x, y); a count that leaves nothing to train on is a
    config error that says how many samples there are."""
    val = data_cfg["val_split"]
    if isinstance(val, int) and val >= len(x):
        limited = f" (data.limit is {data_cfg['limit']})" if data_cfg["limit"] is not None else ""
        raise ConfigError(f"data.val_split: {val} validation samples would leave none to train on: the "
                          f"training split has {len(x)} samples{limited}; give fewer, or a fraction such as 0.1")
    try:
        return split_train_val(x, y, val, seed=derived_seed(seed, VAL_SPLIT))
    except ConfigError as exc:
        raise ConfigError(f"data.val_split: {exc}") from None


def kfold_split(x, y, fold: int, folds: int, seed: int):
    """Fold ``fold`` (0-based) of ``folds``: (x_train, y_train, x_val, y_val), seeded, order kept."""
    perm = np.random.default_rng(derived_seed(seed, VAL_SPLIT)).permutation(len(x))
    val_idx = np.sort(perm[fold::folds])
    train_idx = np.sort(np.setdiff1d(perm, val_idx, assume_unique=True))
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


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


def normalize_array(x, stats: dict | None):
    """``(x - mean) / std`` for float data (scalar or per-feature statistics); others unchanged."""
    if not stats or not np.issubdtype(x.dtype, np.floating):
        return x
    mean = np.asarray(stats["mean"], dtype=x.dtype)
    std = np.asarray(stats["std"], dtype=x.dtype)
    return ((x - mean) / std).astype(x.dtype, copy=False)
