"""One meaning per name: the old names and import paths of renamed things still give the same
objects (kept for users: the README, plugins and notebooks of earlier versions used them), and
the names a user meets say which of two similar things they are."""
import ast
import importlib

import pytest

import nnpy
from tests.prerequisites import REPO


def test_build_functions_are_the_make_functions():
    """``build_*`` / ``get_*`` (turning a spec into an object) were renamed ``make_*``."""
    from nnpy.data import build_transforms, make_transforms
    from nnpy.symbols import build_model, make_model
    from nnpy.nn.initializers import get_initializer, make_initializer
    from nnpy.nn.metrics import get_metric, make_metric
    from nnpy.optim import build_optimizer, build_scheduler
    assert nnpy.build_layer is nnpy.make_layer and nnpy.build_loss is nnpy.make_loss
    assert nnpy.build_initializer is nnpy.make_initializer is get_initializer is make_initializer
    assert build_optimizer is nnpy.make_optimizer and build_scheduler is nnpy.make_scheduler
    assert build_model is make_model and build_transforms is make_transforms and get_metric is make_metric


def test_registry_build_is_make():
    """``Registry.build`` (deprecated) makes the same object as ``Registry.make``."""
    from nnpy.registry import LAYERS
    spec = {"type": "Dense", "units": 3}
    assert LAYERS.build(spec).get_config() == LAYERS.make(spec).get_config()


def test_engine_checkpoints_is_checkpoint_content():
    """``nnpy.engine.checkpoints`` (one letter from the file format ``nnpy.io.checkpoint``) was
    renamed ``nnpy.engine.checkpoint_content``, what a checkpoint holds."""
    from nnpy.engine import checkpoint_content, checkpoints
    for name in ("load", "load_weights", "plan_from_checkpoint", "stats_of", "write_inference_copy"):
        assert getattr(checkpoints, name) is getattr(checkpoint_content, name)
    assert nnpy.load is checkpoint_content.load


def test_callback_lives_with_the_callbacks():
    """``Callback`` (the hooks ``Trainer.fit`` calls) is written in ``engine/callbacks.py`` beside the
    callbacks, which import nothing of the loop; its old path ``nnpy.engine.trainer`` and the public
    ``nnpy.callbacks`` give the same class."""
    import nnpy.callbacks
    import nnpy.engine
    import nnpy.engine.callbacks
    import nnpy.engine.trainer
    assert nnpy.engine.callbacks.Callback.__module__ == "nnpy.engine.callbacks"
    assert nnpy.engine.trainer.Callback is nnpy.engine.callbacks.Callback is nnpy.callbacks.Callback \
        is nnpy.engine.Callback
    imported = {node.module for node in ast.walk(ast.parse(open(nnpy.engine.callbacks.__file__).read()))
                if isinstance(node, ast.ImportFrom)}
    assert "trainer" not in imported and imported, imported


def test_gradient_watch_lives_with_the_loop():
    """``GradientWatch`` (the warning of a parameter that never gets a gradient) is written in
    ``engine/trainer.py``, its only user, beside the loop's other gradient check; its old path
    ``nnpy.engine.gradient_watch`` gives the same objects."""
    import nnpy.engine.gradient_watch
    import nnpy.engine.trainer
    assert nnpy.engine.trainer.GradientWatch.__module__ == "nnpy.engine.trainer"
    for name in ("GradientWatch", "no_gradient_message"):
        assert getattr(nnpy.engine.gradient_watch, name) is getattr(nnpy.engine.trainer, name)


def test_chain_is_the_container_and_sequential_the_trainable_model():
    """``nnpy list layers`` shows the first sentence of Chain's docstring: a container, not the
    trainable ``nnpy.Sequential`` (which it used to call "PyTorch's nn.Sequential")."""
    from nnpy.cli import first_sentence
    from nnpy.layers import Chain
    chain = first_sentence(Chain.__doc__)
    assert chain.startswith("A container of layers") and "Sequential" not in chain
    assert "trainable model" in first_sentence(nnpy.Sequential.__doc__)
    assert not hasattr(Chain, "fit") and issubclass(nnpy.Sequential, Chain)


def test_models_is_symbols():
    """``nnpy.models`` held the model symbols, not the model class (``nnpy.engine.model``): it is
    ``nnpy.symbols`` now; the config key ``model.symbol`` is unchanged."""
    import nnpy.models
    import nnpy.models.symbols
    import nnpy.symbols
    import nnpy.symbols.builtin
    for name in ("make_model", "build_model", "model_layers", "graph_section"):
        assert getattr(nnpy.models, name) is getattr(nnpy.symbols, name)
    assert nnpy.models.symbols.lenet is nnpy.symbols.builtin.lenet
    layers = nnpy.symbols.model_layers({"symbol": "mlp", "hidden": [4]}, (1, 2, 2), 3)
    assert layers == nnpy.models.model_layers({"symbol": "mlp", "hidden": [4]}, (1, 2, 2), 3) and layers


SCRIPTS = sorted([*REPO.glob("benchmarks/*.py"), *REPO.glob("examples/**/*.py"), *REPO.glob("tools/*.py")])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_import_names_that_exist(script):
    """The scripts no test runs (benchmarks, examples, tools) import nnpy names that exist: a rename
    left behind there (``from nnpy.nn.layers import Sequential``, Chain's old name) fails here."""
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "nnpy":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert alias.name == "*" or hasattr(module, alias.name) or \
                    importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                    f"{script.name}: from {node.module} import {alias.name}"


def test_nnpy_layers_is_the_public_path_of_nnpy_nn_layers():
    """``nnpy.layers`` (the README's ``from nnpy.layers import Dense``) and ``nnpy.nn.layers`` (where
    the classes are written) are one set of classes, not two things of one name."""
    import nnpy.layers
    import nnpy.nn.layers
    from nnpy.registry import LAYERS
    public = {name for name in dir(nnpy.layers) if not name.startswith("_")}
    for name in LAYERS.names():
        cls = LAYERS.get(name)
        if cls.__module__.startswith("nnpy.nn.layers") and cls.__name__ in vars(nnpy.nn.layers):
            assert getattr(nnpy.layers, cls.__name__) is cls
    assert nnpy.layers.Layer is nnpy.Layer and {"Chain", "Graph", "Residual", "Dense"} <= public


def test_functional_api_placeholder_is_no_model_symbol():
    """A layer called on ``nnpy.Input`` gives a ``Placeholder`` (it was ``Symbol``, the word a config
    uses for a named model recipe, ``model.symbol``); ``nnpy.nn.symbolic`` keeps the old names."""
    import nnpy.nn.placeholders as placeholders
    import nnpy.nn.symbolic as symbolic
    from nnpy.layers import Dense
    y = Dense(2)(nnpy.Input((3,)))
    assert type(y) is placeholders.Placeholder is symbolic.Symbol and repr(y).startswith("Placeholder(")
    assert symbolic.is_symbolic is placeholders.is_placeholder and symbolic.call_symbolic is placeholders.record_call
    assert symbolic.Input is nnpy.Input and symbolic.graph_nodes is placeholders.graph_nodes
