"""The model table: layer, type, output shape, parameters, FLOPs."""
from __future__ import annotations


def _fmt(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(int(n))


def _inputs_text(container, layer) -> str:
    """The nodes a graph node reads (``a, b``); "" inside other containers."""
    inputs_of = getattr(container, "inputs_of", None)
    names = inputs_of(layer) if inputs_of is not None else None
    return ", ".join(names) if names else ""


def summary_rows(model, depth: int = 0) -> list[tuple]:
    """(name, type, output shape, inputs, params, FLOPs) of every layer inside ``model``."""
    rows = []
    for layer in model.children():
        total = layer.count_params()
        rows.append(("  " * depth + layer.name, layer.type_name, str(layer.output_shape),
                     _inputs_text(model, layer), total, layer.flops()))
        if layer.children():
            rows += summary_rows(layer, depth + 1)
    return rows


def summary(model, input_shape=None) -> str:
    """A table of every layer; FLOPs are per sample (2 × multiply-adds, forward pass). A graph
    model's table has an ``inputs`` column: the nodes each node reads."""
    rows = summary_rows(model)
    with_inputs = any(inputs for _, _, _, inputs, _, _ in rows)
    header = ("layer", "type", "output shape", *(("inputs",) if with_inputs else ()), "params", "FLOPs")
    cells = [header] + [(name, kind, shape, *((inputs,) if with_inputs else ()), f"{params:,}", _fmt(flops))
                        for name, kind, shape, inputs, params, flops in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    left = len(header) - 2        # text columns are left-aligned, numbers right-aligned

    def line(row):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    out = [f"input shape: {tuple(model.input_shape)}", line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in cells[1:]]
    frozen = model.count_params() - sum(p.size for p in model.named_trainable_parameters().values())
    frozen_note = f" ({frozen:,} frozen)" if frozen else ""
    out.append(f"total: {model.count_params():,} parameters{frozen_note}, {_fmt(model.flops())} FLOPs per sample "
               f"(forward)")
    return "\n".join(out)
