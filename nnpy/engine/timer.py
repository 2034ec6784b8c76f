"""Where the training time goes: data loading, forward, backward, optimizer steps.

``Timer.phase(name)`` is a context manager that adds the elapsed wall time to that
phase. With ``per_layer=True`` (``nnpy train --profile``) every leaf layer's
forward and backward are timed as well.
"""
from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager

PHASES = ("data", "forward", "backward", "optimizer")


class Timer:
    def __init__(self):
        self.totals = defaultdict(float)
        self.layer_totals = defaultdict(float)
        self._wrapped = []

    @contextmanager
    def phase(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - start

    def profile_layers(self, model) -> None:
        """Wrap the forward/backward of every leaf layer of ``model`` with a stopwatch."""
        for layer in model.walk():
            if layer.children():
                continue
            for method in ("forward", "backward"):
                original = getattr(layer, method)
                key = f"{layer.name} ({layer.type_name}).{method}"

                def timed(*args, _original=original, _key=key, **kwargs):
                    start = time.perf_counter()
                    try:
                        return _original(*args, **kwargs)
                    finally:
                        self.layer_totals[_key] += time.perf_counter() - start
                setattr(layer, method, timed)
                self._wrapped.append((layer, method))

    def unwrap(self) -> None:
        for layer, method in self._wrapped:
            layer.__dict__.pop(method, None)
        self._wrapped.clear()

    def phase_fields(self) -> list[str]:
        """``time per phase:``, ``data 1.2% (0.30 s)``, ``forward 41.2% (12.3 s)``, …"""
        phases = [*PHASES, *(p for p in self.totals if p not in PHASES)]   # + allreduce under MPI
        total = sum(self.totals[p] for p in phases) or 1e-12
        return ["time per phase:", *(f"{p} {100 * self.totals[p] / total:.1f}% ({self.totals[p]:.2f} s)"
                                     for p in phases)]

    def report(self) -> str:
        """``time per phase: data 1.2% (0.30 s)  forward …``; per-layer lines when profiled."""
        fields = self.phase_fields()
        lines = [fields[0] + " " + "  ".join(fields[1:])]
        if self.layer_totals:
            layer_total = sum(self.layer_totals.values()) or 1e-12
            lines.append("time per layer (forward/backward):")
            for key, sec in sorted(self.layer_totals.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {key:45s} {100 * sec / layer_total:5.1f}%  {sec:8.3f} s")
        return "\n".join(lines)
