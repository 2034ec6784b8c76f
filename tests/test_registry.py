"""The registries: complete whatever the user imports first, and their messages read right."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnpy import registry
from nnpy.errors import RegistryError

REPO = Path(__file__).resolve().parents[1]
REGISTRIES = sorted(name for name, value in vars(registry).items() if isinstance(value, registry.Registry))


def names_in_fresh_python(code: str) -> dict:
    """``{registry: names}`` printed by ``code`` (which must print that JSON) in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def everything_imported() -> dict:
    """The names of every registry once every module of nnpy that can be imported has been."""
    return names_in_fresh_python(
        "import json, pkgutil, importlib, nnpy\n"
        "from nnpy import registry\n"
        "for m in pkgutil.walk_packages(nnpy.__path__, 'nnpy.'):\n"
        "    try: importlib.import_module(m.name)\n"
        "    except ImportError: pass\n"
        f"print(json.dumps({{n: getattr(registry, n).names() for n in {REGISTRIES!r}}}))\n")


def test_every_registry_is_found():
    assert {"LAYERS", "LOSSES", "OPTIMIZERS", "SCHEDULERS", "INITIALIZERS", "METRICS", "SYMBOLS",
            "DATASETS"} <= set(REGISTRIES)


@pytest.mark.parametrize("name", REGISTRIES)
def test_a_registry_imported_alone_is_complete(name, everything_imported):
    """``from nnpy.registry import DATASETS; DATASETS.make("mnist")`` as the README shows it:
    listing, lookup and ``in`` see every built-in entry, with nothing else imported first."""
    assert everything_imported[name], f"{name} is empty even with everything imported"
    first = everything_imported[name][0]
    alone = names_in_fresh_python(
        f"import json\nfrom nnpy.registry import {name} as R\n"
        f"print(json.dumps({{'listed': R.names()}}))")
    assert alone["listed"] == everything_imported[name]
    for lookup in (f"R.get({first!r}).registered_name", f"{first!r} in R"):
        found = names_in_fresh_python(f"import json\nfrom nnpy.registry import {name} as R\n"
                                      f"print(json.dumps({{'found': {lookup}}}))")
        assert found["found"] in (first, True), lookup


def test_the_readme_dataset_example_runs_on_its_own():
    out = names_in_fresh_python("import json\nfrom nnpy.registry import DATASETS\n"
                                "print(json.dumps(type(DATASETS.make('mnist')).__name__))")
    assert out == "MNIST"


def test_messages_use_the_right_plural_and_article():
    with pytest.raises(RegistryError, match=r"unknown loss 'nope'.*; valid losses: ") as info:
        registry.LOSSES.get("nope")
    assert "losss" not in str(info.value)
    with pytest.raises(RegistryError, match=r"^an optimizer must be a name or a mapping"):
        registry.OPTIMIZERS.make(3)
    with pytest.raises(RegistryError, match=r"^a layer must be a name or a mapping"):
        registry.LAYERS.make(3)
