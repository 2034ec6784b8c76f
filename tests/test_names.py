"""One meaning per name: the old names and import paths of renamed things still give the same
objects (kept for users: the README, plugins and notebooks of earlier versions used them), and
the names a user meets say which of two similar things they are."""
import nnpy


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
    for name in ("load", "load_weights", "plan_from_checkpoint", "stats_of", "training_payload",
                 "write_inference_copy"):
        assert getattr(checkpoints, name) is getattr(checkpoint_content, name)
    assert nnpy.load is checkpoint_content.load


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
