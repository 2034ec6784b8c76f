"""Recurrent cells over a whole sequence, forward and backward through time.

Arrays are time-major: ``xw`` (T, N, k·units) holds every step's input projection x_t @ W + b
(one GEMM for all steps, done by the caller), ``U`` (units, k·units) the recurrent weights, and
``hs`` (T+1, N, units) the states with hs[0] = 0. Only the recurrence loops over time (each step
a contiguous slice); backward runs the loop in reverse, collecting the gradient of every step's
pre-activations (``dxw``, (T, N, k·units)), from which the caller gets dW, db and dx with one GEMM
each. ``dU`` (and GRU's ``db_rec``) are written in place. ``dhs`` (T, N, units): dL/dh_t from above.
"""
from __future__ import annotations

from ..backend import xp
from .activations import sigmoid


def _grad_U(hs, drec, dU) -> None:
    """dU = Σ_t h_{t-1}ᵀ @ drec_t as one GEMM over the stacked states; drec: (T, N, k·units)."""
    h_prev = hs[:-1].reshape(-1, hs.shape[2])
    xp.matmul(h_prev.T, drec.reshape(h_prev.shape[0], -1), out=dU)


def rnn_forward(xw, U):
    """Elman RNN, h_t = tanh(xw_t + h_{t-1} @ U): hs (T+1, N, units)."""
    hs = xp.zeros((xw.shape[0] + 1, *xw.shape[1:]), dtype=xw.dtype)
    for t in range(xw.shape[0]):
        hs[t + 1] = xp.tanh(xw[t] + hs[t] @ U)
    return hs


def rnn_backward(dhs, hs, U, dU):
    """dL/d(pre-activation) of every step, (T, N, units); writes dU."""
    da = xp.empty_like(dhs)
    dh = xp.zeros_like(dhs[0])
    for t in reversed(range(dhs.shape[0])):
        h = hs[t + 1]
        da[t] = (dhs[t] + dh) * (1.0 - h * h)
        dh = da[t] @ U.T
    _grad_U(hs, da, dU)
    return da


def lstm_forward(xw, U):
    """LSTM, gate blocks i, f, g, o (k = 4)::

        a_t = xw_t + h_{t-1} @ U;   i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    Returns hs and what backward needs: (cs (T+1, N, units), tanh(c_t) (T, N, units), the gates
    after their nonlinearities (T, N, 4·units))."""
    steps, n, k = xw.shape
    u = k // 4
    hs = xp.zeros((steps + 1, n, u), dtype=xw.dtype)
    cs = xp.zeros((steps + 1, n, u), dtype=xw.dtype)
    tanh_cs = xp.empty((steps, n, u), dtype=xw.dtype)
    acts = xp.empty_like(xw)
    for t in range(steps):
        a = xw[t] + hs[t] @ U
        act = acts[t]
        act[...] = sigmoid(a)
        act[:, 2 * u:3 * u] = xp.tanh(a[:, 2 * u:3 * u])
        i, f, g, o = act[:, :u], act[:, u:2 * u], act[:, 2 * u:3 * u], act[:, 3 * u:]
        cs[t + 1] = f * cs[t] + i * g
        tanh_cs[t] = xp.tanh(cs[t + 1])
        hs[t + 1] = o * tanh_cs[t]
    return hs, (cs, tanh_cs, acts)


def lstm_backward(dhs, hs, cache, U, dU):
    """dL/da_t of every step, (T, N, 4·units); writes dU."""
    cs, tanh_cs, acts = cache
    u = acts.shape[2] // 4
    # derivative of each nonlinearity w.r.t. its pre-activation, all steps at once
    dact_da = acts * (1.0 - acts)
    dact_da[..., 2 * u:3 * u] = 1.0 - acts[..., 2 * u:3 * u] ** 2
    da = xp.empty_like(acts)
    dh = xp.zeros_like(dhs[0])
    dc = xp.zeros_like(dhs[0])
    for t in reversed(range(dhs.shape[0])):
        i, f, g, o = (acts[t, :, k * u:(k + 1) * u] for k in range(4))
        tanh_c = tanh_cs[t]
        dh = dhs[t] + dh
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        d = da[t]  # fill with dL/d(i, f, g, o), then scale by the nonlinearities' slopes
        d[:, :u] = dc * g
        d[:, u:2 * u] = dc * cs[t]
        d[:, 2 * u:3 * u] = dc * i
        d[:, 3 * u:] = dh * tanh_c
        d *= dact_da[t]
        dc = dc * f
        dh = d @ U.T
    _grad_U(hs, da, dU)
    return da


def gru_forward(xw, U, b_rec):
    """GRU (``reset_after``), gate blocks z, r, h (k = 3)::

        hu = h_{t-1} @ U + b_rec;   z = σ(xw_z + hu_z);   r = σ(xw_r + hu_r)
        n = tanh(xw_h + r * hu_h);   h_t = z * h_{t-1} + (1 − z) * n

    Returns hs and what backward needs: (z, r, n of every step (T, N, 3·units), hu_h (T, N, units))."""
    steps, n, k = xw.shape
    u = k // 3
    hs = xp.zeros((steps + 1, n, u), dtype=xw.dtype)
    acts = xp.empty_like(xw)
    hu_h = xp.empty((steps, n, u), dtype=xw.dtype)
    for t in range(steps):
        hu = hs[t] @ U + b_rec
        act = acts[t]
        act[:, :2 * u] = sigmoid(xw[t, :, :2 * u] + hu[:, :2 * u])
        hu_h[t] = hu[:, 2 * u:]
        z, r = act[:, :u], act[:, u:2 * u]
        act[:, 2 * u:] = xp.tanh(xw[t, :, 2 * u:] + r * hu_h[t])
        hs[t + 1] = z * hs[t] + (1.0 - z) * act[:, 2 * u:]
    return hs, (acts, hu_h)


def gru_backward(dhs, hs, cache, U, dU, db_rec):
    """dL/d(x_t @ W + b) of every step, (T, N, 3·units); writes dU and db_rec."""
    acts, hu_h = cache
    u = acts.shape[2] // 3
    dxw = xp.empty_like(acts)
    drec = xp.empty_like(acts)  # dL/d(h_{t-1} @ U + b_rec)
    dh = xp.zeros_like(dhs[0])
    for t in reversed(range(dhs.shape[0])):
        z, r, n = (acts[t, :, k * u:(k + 1) * u] for k in range(3))
        h_prev = hs[t]
        dh = dhs[t] + dh
        d = dxw[t]
        d[:, 2 * u:] = dh * (1.0 - z) * (1.0 - n * n)                # dL/d(pre-tanh of n)
        d[:, :u] = dh * (h_prev - n) * z * (1.0 - z)                  # dL/d(a_z)
        d[:, u:2 * u] = d[:, 2 * u:] * hu_h[t] * r * (1.0 - r)        # dL/d(a_r)
        drec[t] = d
        drec[t, :, 2 * u:] *= r
        dh = dh * z + drec[t] @ U.T
    _grad_U(hs, drec, dU)
    drec.reshape(-1, 3 * u).sum(axis=0, out=db_rec)
    return dxw
