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
    rows = summary_rows(model)
    header = ("layer", "type", "output shape", "params", "FLOPs")
    widths = [max(len(str(r[i])) if i < 3 else len(f"{r[i]:,}") if i == 3 else len(_fmt(r[i]))
                  for r in rows + [header]) for i in range(5)]
    widths = [max(w, len(h)) for w, h in zip(widths, header)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"input shape: {tuple(model.input_shape)}", line(header), line(["-" * w for w in widths])]
    for r in rows:
        out.append(line((r[0], r[1], r[2], f"{r[3]:,}", _fmt(r[4]))))
    out.append(f"total: {model.count_params():,} parameters, {_fmt(model.flops())} FLOPs per sample (forward)")
    return "\n".join(out)
