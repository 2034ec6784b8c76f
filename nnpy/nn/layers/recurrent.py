"""Recurrent layers: SimpleRNN, LSTM and GRU, with full backpropagation through time.

All three share one weight layout (as in Keras)::

    W  (features, k·units)   input weights       x_t @ W
    U  (units,    k·units)   recurrent weights   h_{t-1} @ U
    b  (k·units,)            bias

with the k gate blocks concatenated along the last axis (LSTM k=4: i, f, g, o;
GRU k=3: z, r, h; SimpleRNN k=1). Input (N, T, features); output (N, units), the
last state, or (N, T, units) with ``return_sequences=True``. The initial state is
zero.

The input projection of all steps is one GEMM, ``(N·T, F) @ W``; the recurrence over time is
``nnpy.functional.recurrent`` (``rnn_forward``/``rnn_backward``, ``lstm_…``, ``gru_…``), whose
backward collects the gradient of every step's pre-activations; dW and dx are then one GEMM each.
"""
from __future__ import annotations

from ...backend import xp
from ... import functional as F
from ...registry import register_layer
from ..layer import Layer

__all__ = ["RNN", "LSTM", "GRU"]


class _Recurrent(Layer):
    """What RNN, LSTM and GRU share: options, weights, the input GEMM and the output step.

    Subclasses set ``gates`` (k) and implement ``_scan(xw) -> hs`` and
    ``_scan_back(dhs) -> dxw`` over time-major arrays.
    """
    gates = 1

    def __init__(self, units: int, return_sequences: bool = False, init="glorot_uniform",
                 recurrent_init="orthogonal", bias_init="zeros", name: str | None = None):
        super().__init__(name)
        if int(units) < 1:
            raise ValueError(f"units must be a positive integer, not {units!r}")
        self.units, self.return_sequences = int(units), bool(return_sequences)
        self.init, self.recurrent_init, self.bias_init = init, recurrent_init, bias_init

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("(steps, features)", input_shape)
        steps, features = input_shape
        k = self.gates * self.units
        self.add_param("W", (features, k), self.init)
        self.add_param("U", (self.units, k), self.recurrent_init)
        self.add_param("b", (k,), self.bias_init)
        return (steps, self.units) if self.return_sequences else (self.units,)

    def forward(self, x, training=False):
        x = xp.asarray(x, dtype=self.dtype)
        if x.ndim != 3 or x.shape[2] != self.params["W"].shape[0]:
            raise self.shape_error(f"(steps, {self.params['W'].shape[0]})", x.shape[1:])
        n, t, f = x.shape
        self.x = x
        xw = (x.reshape(n * t, f) @ self.params["W"] + self.params["b"]).reshape(n, t, -1)
        hs = self._scan(xp.ascontiguousarray(xw.transpose(1, 0, 2)))  # (T+1, N, units), hs[0] = 0
        self.hs = hs
        # copies, so that a later layer working in place cannot corrupt the cache
        if self.return_sequences:
            return xp.ascontiguousarray(hs[1:].transpose(1, 0, 2))  # (N, T, units)
        return hs[-1].copy()  # (N, units)

    def backward(self, grad_y):
        n, t, f = self.x.shape
        dhs = xp.zeros((t, n, self.units), dtype=self.dtype)  # dL/dh_t from above, per step
        if self.return_sequences:
            dhs[...] = grad_y.transpose(1, 0, 2)
        else:
            dhs[-1] = grad_y
        dxw = self._scan_back(dhs)  # (T, N, k·units): dL/d(x_t @ W + b)
        dxw = dxw.transpose(1, 0, 2).reshape(n * t, -1)  # (N·T, k·units), batch-major like x
        xp.matmul(self.x.reshape(n * t, f).T, dxw, out=self.grads["W"])
        dxw.sum(axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        return (dxw @ self.params["W"].T).reshape(n, t, f)

    def flops(self):
        steps, features = self.input_shape
        return 2 * steps * self.gates * self.units * (features + self.units)


@register_layer("RNN", "SimpleRNN")
class RNN(_Recurrent):
    """Elman RNN: h_t = tanh(x_t @ W + h_{t-1} @ U + b).

    Input (N, T, features); output (N, units) or (N, T, units) with
    ``return_sequences``. ``W``: (features, units), ``U``: (units, units), ``b``: (units,).
    """
    gates = 1

    def _scan(self, xw):
        return F.rnn_forward(xw, self.params["U"])

    def _scan_back(self, dhs):
        return F.rnn_backward(dhs, self.hs, self.params["U"], self.grads["U"])


@register_layer("LSTM")
class LSTM(_Recurrent):
    """Long short-term memory.

    Input (N, T, features); output (N, units) or (N, T, units) with
    ``return_sequences``. ``W``: (features, 4·units), ``U``: (units, 4·units),
    ``b``: (4·units,); gate blocks in the order i, f, g, o (as Keras and PyTorch)::

        a_t = x_t @ W + h_{t-1} @ U + b          # (N, 4·units) = [a_i | a_f | a_g | a_o]
        i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    ``unit_forget_bias=True`` starts the forget-gate bias at 1 (Keras' default).
    """
    gates = 4

    def __init__(self, units: int, return_sequences: bool = False, init="glorot_uniform",
                 recurrent_init="orthogonal", bias_init="zeros", unit_forget_bias: bool = True,
                 name: str | None = None):
        super().__init__(units, return_sequences, init, recurrent_init, bias_init, name)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape):
        out = super().build(input_shape)
        if self.unit_forget_bias:
            self.params["b"][self.units:2 * self.units] = 1.0
        return out

    def _scan(self, xw):
        hs, self.cache = F.lstm_forward(xw, self.params["U"])
        return hs

    def _scan_back(self, dhs):
        return F.lstm_backward(dhs, self.hs, self.cache, self.params["U"], self.grads["U"])


@register_layer("GRU")
class GRU(_Recurrent):
    """Gated recurrent unit, the ``reset_after`` variant (Keras' default, PyTorch's GRU).

    Input (N, T, features); output (N, units) or (N, T, units) with
    ``return_sequences``. ``W``: (features, 3·units), ``U``: (units, 3·units),
    ``b``: (3·units,) input bias, ``b_rec``: (3·units,) recurrent bias; gate blocks
    in the order z, r, h (Keras' order; PyTorch's is r, z, n)::

        xw = x_t @ W + b,   hu = h_{t-1} @ U + b_rec       # (N, 3·units) each
        z = σ(xw_z + hu_z);  r = σ(xw_r + hu_r)
        n = tanh(xw_h + r * hu_h)                          # r multiplies after the recurrent GEMM
        h_t = z * h_{t-1} + (1 - z) * n

    ``b`` and ``b_rec`` are the two bias rows of Keras' (2, 3·units) bias, and
    PyTorch's ``bias_ih`` / ``bias_hh`` (with the gate blocks reordered).
    """
    gates = 3

    def build(self, input_shape):
        out = super().build(input_shape)
        self.add_param("b_rec", (3 * self.units,), self.bias_init)
        return out

    def _scan(self, xw):
        hs, self.cache = F.gru_forward(xw, self.params["U"], self.params["b_rec"])
        return hs

    def _scan_back(self, dhs):
        return F.gru_backward(dhs, self.hs, self.cache, self.params["U"], self.grads["U"], self.grads["b_rec"])
