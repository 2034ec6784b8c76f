"""What the ONNX export tests share: running a graph in onnxruntime, nnpy's reference outputs."""
from __future__ import annotations

import numpy as np

ATOL = 1e-5   # the bound on |onnxruntime − nnpy|, float32


def run_onnx(proto, x: np.ndarray) -> dict:
    """{output name: array} of the ONNX model ``proto`` on input ``x`` (onnxruntime, CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": x})))


def normalized(x: np.ndarray, stats: dict | None) -> np.ndarray:
    """(x − mean) / std in float32, as nnpy normalizes a float input before its model sees it."""
    if not stats or not np.issubdtype(x.dtype, np.floating):
        return x
    return (x - np.asarray(stats["mean"], x.dtype)) / np.asarray(stats["std"], x.dtype)


def softmax64(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64 (the reference for ``probs``)."""
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def expected_outputs(model, x, stats=None, task: str = "classification") -> dict:
    """What the exported graph must give: nnpy's forward (training=False) on normalized ``x``."""
    y = model.forward(normalized(x, stats), training=False)
    if task == "regression":
        return {"predictions": y}
    return {"logits": y, "probs": softmax64(y)}


def worst_differences(model, proto, x, stats=None, task: str = "classification") -> dict:
    """{output: max |onnxruntime − nnpy|} over ``x`` as one batch and over its first sample alone.

    ``probs`` (or ``predictions``) is what the 1e-5 bound is on; ``logits``, whose size
    grows with the net, must agree to float32 rounding: 1e-5 relative to the largest logit.
    """
    worst = {}
    for batch in (x, x[:1]):
        got, want = run_onnx(proto, batch), expected_outputs(model, batch, stats, task)
        assert set(got) == set(want), (sorted(got), sorted(want))
        for key in want:
            assert got[key].shape == want[key].shape, (key, got[key].shape, want[key].shape)
            diff = float(np.max(np.abs(got[key].astype(np.float64) - want[key])))
            worst[key] = max(worst.get(key, 0.0), diff)
        if "logits" in want:
            scale = max(1.0, float(np.max(np.abs(want["logits"]))))
            assert worst["logits"] <= ATOL * scale, (worst["logits"], scale)
    return worst


def randomize_batchnorm(model, rng: np.random.Generator) -> int:
    """Give every BatchNorm non-trivial gamma, beta and running statistics; how many there are."""
    count = 0
    for layer in model.walk():
        if layer.type_name == "BatchNorm":
            c = layer.params["gamma"].shape
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, c)
            layer.params["beta"][...] = rng.normal(0.0, 0.3, c)
            layer.buffers["running_mean"][...] = rng.normal(0.0, 0.5, c)
            layer.buffers["running_var"][...] = rng.uniform(0.3, 2.0, c)
            count += 1
    return count


def random_inputs(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` inputs the model takes: int64 ids for an Embedding first, else float32 in [0, 1)."""
    first = next(layer for layer in model.walk() if not layer.children())
    if first.type_name == "Embedding":
        return rng.integers(0, first.input_dim, (n, *model.input_shape)).astype(np.int64)
    return rng.random((n, *model.input_shape), dtype=np.float32)
