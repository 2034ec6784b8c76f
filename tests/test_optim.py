import numpy as np
import pytest

from nnpy.nn.layers import Dense
from nnpy.optim import make_optimizer, make_scheduler


def one_param_model(p0, g):
    """A Dense layer whose W is p0 and whose gradient we set by hand."""
    layer = Dense(p0.shape[1], use_bias=False)
    layer.initialize((p0.shape[0],), dtype="float64")
    layer.params["W"][...] = p0
    layer.grads["W"][...] = g
    return layer


P0 = np.array([[1.0, -2.0]])
G1 = np.array([[0.5, 1.0]])
G2 = np.array([[-1.0, 0.25]])


def two_steps(spec):
    model = one_param_model(P0, G1)
    opt = make_optimizer(spec, model)
    opt.step()
    after1 = model.params["W"].copy()
    model.grads["W"][...] = G2
    opt.step()
    return after1, model.params["W"].copy()


def test_sgd_plain_and_weight_decay():
    a1, a2 = two_steps({"type": "sgd", "lr": 0.1, "weight_decay": 0.01})
    e1 = P0 - 0.1 * (G1 + 0.01 * P0)
    assert np.allclose(a1, e1)
    assert np.allclose(a2, e1 - 0.1 * (G2 + 0.01 * e1))


def test_sgd_momentum_and_nesterov():
    a1, a2 = two_steps({"type": "sgd", "lr": 0.1, "momentum": 0.9})
    v1 = G1; e1 = P0 - 0.1 * v1
    v2 = 0.9 * v1 + G2; e2 = e1 - 0.1 * v2
    assert np.allclose(a1, e1) and np.allclose(a2, e2)
    a1, a2 = two_steps({"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True})
    e1 = P0 - 0.1 * (G1 + 0.9 * v1)
    e2 = e1 - 0.1 * (G2 + 0.9 * v2)
    assert np.allclose(a1, e1) and np.allclose(a2, e2)


def test_rmsprop():
    a1, a2 = two_steps({"type": "rmsprop", "lr": 0.01, "rho": 0.9, "epsilon": 1e-7})
    s1 = 0.1 * G1 ** 2; e1 = P0 - 0.01 * G1 / (np.sqrt(s1) + 1e-7)
    s2 = 0.9 * s1 + 0.1 * G2 ** 2; e2 = e1 - 0.01 * G2 / (np.sqrt(s2) + 1e-7)
    assert np.allclose(a1, e1) and np.allclose(a2, e2)


@pytest.mark.parametrize("kind", ["adam", "adamw"])
def test_adam_and_adamw(kind):
    wd = 0.1
    a1, a2 = two_steps({"type": kind, "lr": 0.01, "weight_decay": wd})
    p, m, v = P0.copy(), 0, 0
    for t, g in ((1, G1), (2, G2)):
        if kind == "adamw":
            p = p * (1 - 0.01 * wd)
        else:
            g = g + wd * p
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - 0.01 / (1 - 0.9 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        if t == 1:
            assert np.allclose(a1, p)
    assert np.allclose(a2, p)


@pytest.mark.parametrize("spec", [
    {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"type": "sgd", "lr": 0.1, "weight_decay": 0.01},
    {"type": "rmsprop", "lr": 0.01, "weight_decay": 0.01},
    {"type": "adam", "lr": 0.01, "weight_decay": 0.01},
    {"type": "adamw", "lr": 0.01},
])
def test_scratch_buffers_leave_grads_alone_and_params_apart(spec):
    """Updates write their terms into shared scratch arrays: two parameters of different
    sizes, several steps, float32 — each must match its own separate single-parameter run,
    and the gradients must be untouched."""
    rng = np.random.default_rng(0)
    big = Dense(8)
    big.initialize((16,))                                     # W (16, 8) and b (8,) share scratch
    alone = {k: one_param_model(v.reshape(1, -1).astype(np.float64), 0 * v.reshape(1, -1))
             for k, v in big.params.items()}
    opt = make_optimizer(spec, big)
    opt_alone = {k: make_optimizer(spec, m) for k, m in alone.items()}
    for _ in range(3):
        for k in big.params:
            big.grads[k][...] = rng.standard_normal(big.grads[k].shape)
            alone[k].grads["W"][...] = big.grads[k].reshape(1, -1)
        grads_before = {k: g.copy() for k, g in big.grads.items()}
        opt.step()
        for k, o in opt_alone.items():
            o.step()
            np.testing.assert_allclose(big.params[k].ravel(), alone[k].params["W"].ravel(), rtol=1e-5,
                                       atol=1e-6, err_msg=k)
            np.testing.assert_array_equal(big.grads[k], grads_before[k])
    state = opt.state_dict()["state"]                             # moments only, no scratch
    assert set(state) <= set(big.params)
    assert all(a.shape == big.params[k].shape for k, slots in state.items() for a in slots.values())


def test_global_norm_clipping():
    model = one_param_model(P0, np.array([[3.0, 4.0]]))
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "max_grad_norm": 1.0}, model)
    opt.step()
    assert opt.last_grad_norm == pytest.approx(5.0)
    assert np.allclose(model.params["W"], P0 - np.array([[0.6, 0.8]]))


def test_optimizer_state_dict_round_trip_continues_identically():
    spec = {"type": "adam", "lr": 0.01}
    m1 = one_param_model(P0, G1); o1 = make_optimizer(spec, m1); o1.step()
    m2 = one_param_model(m1.params["W"].copy(), G2); o2 = make_optimizer(spec, m2)
    o2.load_state_dict(o1.state_dict())
    m1.grads["W"][...] = G2
    o1.step(); o2.step()
    assert np.array_equal(m1.params["W"], m2.params["W"])


def sched(spec, lr=1.0):
    opt = make_optimizer({"type": "sgd", "lr": lr}, one_param_model(P0, G1))
    return opt, make_scheduler(spec, opt)


def lrs(spec, n, lr=1.0, metrics=None):
    opt, s = sched(spec, lr)
    out = [opt.lr]
    for i in range(n):
        s.step(None if metrics is None else metrics[i])
        out.append(opt.lr)
    return out


def test_scheduler_values():
    assert lrs("constant", 3) == [1.0] * 4
    assert np.allclose(lrs({"type": "step", "step_size": 2, "gamma": 0.5}, 5), [1, 1, .5, .5, .25, .25])
    assert np.allclose(lrs({"type": "multistep", "milestones": [1, 3], "gamma": 0.1}, 4), [1, .1, .1, .01, .01])
    assert np.allclose(lrs({"type": "exponential", "gamma": 0.9}, 2), [1, .9, .81])
    cos = lrs({"type": "cosine", "total": 4, "min_lr": 0.0}, 4)
    assert np.allclose(cos, [1, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4)), 0])
    warm = lrs({"type": "cosine", "total": 6, "warmup": 2}, 6)
    assert np.allclose(warm[:3], [1 / 3, 2 / 3, 1.0])
    assert warm[-1] == pytest.approx(0.0)


def test_plateau_reduces_after_patience_and_round_trips():
    spec = {"type": "plateau", "factor": 0.5, "patience": 1}   # a loss: lower is better
    out = lrs(spec, 5, metrics=[1.0, 0.9, 0.95, 0.95, 0.95])
    assert np.allclose(out, [1, 1, 1, 1, 0.5, 0.5])
    opt, s = sched(spec)
    for m in [1.0, 2.0, 2.0]:
        s.step(m)
    opt2, s2 = sched(spec)
    s2.load_state_dict(s.state_dict())
    assert opt2.lr == opt.lr and s2.best == s.best and s2.bad_epochs == s.bad_epochs


def test_scheduler_state_dict_round_trip():
    opt, s = sched({"type": "cosine", "total": 10, "warmup": 2})
    for _ in range(4):
        s.step()
    opt2, s2 = sched({"type": "cosine", "total": 10, "warmup": 2})
    s2.load_state_dict(s.state_dict())
    assert opt2.lr == opt.lr
    s.step(); s2.step()
    assert opt2.lr == opt.lr


@pytest.mark.parametrize("kind", ["sgd", "rmsprop", "adam", "adamw"])
def test_weight_decay_on_matrices_decays_weights_and_kernels_only(kind):
    """With zero gradients only the decay moves a parameter: ``matrices`` moves the Dense and
    Conv2D weights (2+ axes) and leaves biases and BatchNorm's gamma and beta as they were;
    ``all`` moves gamma too (it starts at 1)."""
    import nnpy
    layers = [{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "BatchNorm"}, {"type": "Flatten"},
              {"type": "Dense", "units": 3}]
    for decay_on, vectors_move in (("matrices", False), ("all", True)):
        model = nnpy.Sequential(layers, seed=0)
        model.build((1, 5, 5))
        before = {k: v.copy() for k, v in model.named_parameters().items()}
        for g in model.named_gradients().values():
            g.fill(0)
        spec = {"type": kind, "lr": 0.1, "weight_decay": 0.5, "weight_decay_on": decay_on}
        make_optimizer({**spec, "momentum": 0.9} if kind == "sgd" else spec, model).step()
        after = model.named_parameters()
        for key in ("conv2d_1.W", "dense_1.W"):
            assert not np.allclose(after[key], before[key]), (decay_on, key)
        gamma_moved = not np.array_equal(after["batchnorm_1.gamma"], before["batchnorm_1.gamma"])
        assert gamma_moved == vectors_move, decay_on
        for key in ("dense_1.b", "batchnorm_1.beta"):      # zero: decay leaves them at 0 either way
            np.testing.assert_array_equal(after[key], before[key])
        if kind == "sgd":    # p ← p − lr·(wd·p)·(1 + momentum·…): the first step of momentum SGD is lr·g
            np.testing.assert_allclose(after["dense_1.W"], before["dense_1.W"] * (1 - 0.1 * 0.5), rtol=1e-6)


def test_weight_decay_on_matrices_with_a_parameter_split_over_threads():
    """A parameter large enough for ``step`` to update in pieces on several threads
    (``nnpy.kernels.split_update``) is decayed whole or not at all, as a small one."""
    import nnpy
    model = nnpy.Sequential([{"type": "Dense", "units": 1024}, {"type": "BatchNorm"}], seed=0)
    model.build((2048,))
    w, b = model.named_parameters()["dense_1.W"].copy(), model.named_parameters()["dense_1.b"].copy()
    for g in model.named_gradients().values():
        g.fill(0)
    make_optimizer({"type": "sgd", "lr": 0.1, "weight_decay": 0.5, "weight_decay_on": "matrices"}, model).step()
    np.testing.assert_allclose(model.named_parameters()["dense_1.W"], w * np.float32(1 - 0.05), rtol=1e-6)
    np.testing.assert_array_equal(model.named_parameters()["dense_1.b"], b)
    np.testing.assert_array_equal(model.named_parameters()["batchnorm_1.gamma"], 1)


def test_weight_decay_on_must_be_all_or_matrices():
    from nnpy.errors import RegistryError
    with pytest.raises(RegistryError, match="optimizer 'sgd': weight_decay_on must be 'all' or 'matrices', not 'vectors'"):
        make_optimizer({"type": "sgd", "weight_decay_on": "vectors"})
