"""The model table: layer, type, output shape, parameters, FLOPs."""
from __future__ import annotations


def _fmt(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(int(n))


def summary_rows(model, depth: int = 0) -> list[tuple]:
    rows = []
    for layer in model.children():
        total = layer.count_params()
        rows.append(("  " * depth + layer.name, layer.type_name, str(layer.output_shape), total, layer.flops()))
        if layer.children():
            rows += summary_rows(layer, depth + 1)
    return rows


def summary(model, input_shape=None) -> str:
    """A table of every layer; FLOPs are per sample (2 × multiply-adds, forward pass)."""
    header = ("layer", "type", "output shape", "params", "FLOPs")
    cells = [header] + [(name, kind, shape, f"{params:,}", _fmt(flops))
                        for name, kind, shape, params, flops in summary_rows(model)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    out = [f"input shape: {tuple(model.input_shape)}", line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in cells[1:]]
    frozen = model.count_params() - sum(p.size for p in model.named_trainable_parameters().values())
    frozen_note = f" ({frozen:,} frozen)" if frozen else ""
    out.append(f"total: {model.count_params():,} parameters{frozen_note}, {_fmt(model.flops())} FLOPs per sample "
               f"(forward)")
    return "\n".join(out)
