"""One ``Run`` owns a training run: its parts built once, each given its own config section."""
import functools
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from nnpy.cli import main
from nnpy.data.datasets import MNIST
from nnpy.data.transforms import Normalize, RandomAffine, RandomThickness
from nnpy.io.checkpoint import load_checkpoint
from nnpy.nn.metrics import Metric

REPO = Path(__file__).resolve().parents[2]


def count_constructions(monkeypatch, classes) -> Counter:
    """A counter of the objects of ``classes`` built from now on (by ``__init__``)."""
    built = Counter()
    for cls in classes:
        def counted(self, *args, _cls=cls, _init=cls.__init__, **kwargs):
            built[_cls.__name__] += 1
            _init(self, *args, **kwargs)
        monkeypatch.setattr(cls, "__init__", functools.wraps(cls.__init__)(counted))
    return built


def test_a_run_builds_its_dataset_transforms_and_metrics_once(tmp_path, monkeypatch):
    """Before, the dataset was built by the plan and again by the data preparation, the
    augmentation by the config check and again for the loader, and each metric four times."""
    built = count_constructions(monkeypatch, (MNIST, RandomAffine, RandomThickness, Normalize, Metric))
    r = CliRunner().invoke(main, ["train", "--config", str(REPO / "configs" / "mlp.yaml"),
                                  "--set", "data.limit=300", "--set", "data.val_split=60", "--set", "train.epochs=1",
                                  "--set", "model.hidden=[8]", "--set", "data.augment={shift: 2, thickness: 0.5}",
                                  "--set", "train.metrics=[accuracy, top5_accuracy]",
                                  "--set", f"checkpoint.dir={tmp_path / 'ck'}", "--set", f"log.dir={tmp_path / 'runs'}"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "val_top5_accuracy" in r.output           # the run did validate, with both metrics
    assert built == {"MNIST": 1, "RandomAffine": 1, "RandomThickness": 1, "Normalize": 1, "Metric": 2}, built
    assert load_checkpoint(tmp_path / "ck" / "last.json")["config"]["train"]["metrics"] == \
        ["accuracy", "top5_accuracy"]


def test_the_trained_model_takes_raw_inputs_as_its_checkpoint_does(tmp_path):
    """A run leaves its model with the normalization its data was prepared with (the one its
    checkpoints hold), so ``predict`` on raw samples gives what the loop computed on normalized ones."""
    from nnpy.engine.plan import load_plan
    from nnpy.engine.run import train

    plan = load_plan(REPO / "configs" / "mlp.yaml",
                     ["data.limit=200", "data.val_split=40", "train.epochs=1", "model.hidden=[8]",
                      f"checkpoint.dir={tmp_path / 'ck'}", f"log.dir={tmp_path / 'runs'}"])
    assert plan.model.normalization is None
    with open(tmp_path / "out.txt", "w") as out:
        result = train(plan, stdout=out, progress=False)
    stats = result.data.stats
    assert stats is not None and plan.model.normalization == {"mean": stats["mean"], "std": stats["std"]}
    assert load_checkpoint(tmp_path / "ck" / "last.json")["data"]["stats"] == plan.model.normalization
    x_val, _ = result.data.val                                      # normalized by the data preparation
    raw = x_val * stats["std"] + stats["mean"]
    assert abs(plan.model.predict(raw) - plan.model.forward(x_val)).max() < 1e-4
