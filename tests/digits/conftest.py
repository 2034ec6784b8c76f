"""A tiny image-folder model for the server and page tests: tools/make_shapes.py's circles,
squares and triangles, 16×16 colour, configs/shapes.yaml trained for one epoch (what it reads
matters here, not how well)."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from tests.tools import load_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shapes_model(tmp_path_factory) -> Path:
    """The ``best.json`` of the tiny shapes run."""
    work = tmp_path_factory.mktemp("shapes-model")
    load_tool("make_shapes").make_shapes(work / "shapes", train=8, test=2, size=16)
    overrides = [f"data.root={work / 'shapes'}", "data.options.size=[16, 16]", "train.epochs=1",
                 "data.val_split=0", "checkpoint.monitor=train_accuracy",
                 f"log.dir={work / 'runs'}", f"checkpoint.dir={work / 'ckpt'}"]
    r = CliRunner().invoke(main, ["train", "--config", str(REPO / "configs" / "shapes.yaml"),
                                  *[a for o in overrides for a in ("--set", o)]])
    assert r.exit_code == 0, r.output
    return work / "ckpt" / "best.json"


@pytest.fixture(scope="session")
def shape_photo(tmp_path_factory) -> Path:
    """A colour triangle at 48×48, three times the size the shapes model reads."""
    path = tmp_path_factory.mktemp("shape-photo") / "triangle.png"
    load_tool("make_shapes").draw_shape("triangle", 48, np.random.default_rng(3)).save(path)
    return path
