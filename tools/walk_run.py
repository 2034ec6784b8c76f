"""Follow one ``nnpy train`` through the code as a reader does, from the command to a layer's
forward and backward, the optimizer's step and back to the checkpoint write, and count how often
the reading goes back to a file it had already left.

    python tools/walk_run.py [--config configs/mlp.yaml] [--side] [--list]

The run is traced (``sys.setprofile``) with 600 samples and one epoch. The *spine* is every nnpy
function on the call stack when the run first enters ``Dense.forward``, ``Dense.backward``,
``Optimizer.step`` and the checkpoint file writer (``io/checkpoint.py: save_checkpoint``): the
path that leads from the command to each. ``--side`` adds the functions the spine calls directly
(what a reader meets reading the spine's bodies). Each function is a stop once, in the order the
run first calls it; consecutive stops in one file are one visit. A comprehension, generator
expression or lambda is part of the function that contains it, as it is for a reader: not a stop of
its own. Prints files, stops, visits and the returns to a file already visited (visits - files);
``--list`` prints the visits.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "nnpy") + os.sep
MILESTONES = {("nn/layers/dense.py", "Dense.forward"), ("nn/layers/dense.py", "Dense.backward"),
              ("optim/optimizers.py", "Optimizer.step"), ("io/checkpoint.py", "save_checkpoint")}


INLINE = ("<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>", "<lambda>")


def where(code) -> tuple[str, str]:
    """(file under nnpy/, function) of a code object; a comprehension, generator expression or
    lambda is its enclosing function (``Trainer._end_epoch.<locals>.<dictcomp>`` is
    ``Trainer._end_epoch``; a module-level lambda is ``<module>``)."""
    parts = getattr(code, "co_qualname", code.co_name).split(".")
    while parts and parts[-1] in INLINE:
        parts.pop()
        if parts and parts[-1] == "<locals>":
            parts.pop()
    return os.path.relpath(code.co_filename, PACKAGE), ".".join(parts) or "<module>"


def trace_train(config: str):
    """(calls, spine): every nnpy function called under ``nnpy train`` in the order first called,
    with the function that first called it; and the spine (see the module docstring)."""
    from nnpy.cli import main as cli
    first_call, spine, stack = {}, set(), []
    reached = set()

    def profile(frame, event, arg):
        code = frame.f_code
        if event not in ("call", "return") or not code.co_filename.startswith(PACKAGE):
            return
        if event == "return":
            if stack and stack[-1] == where(code):
                stack.pop()
            return
        here = where(code)
        if not stack and here != ("cli.py", "train"):
            return
        first_call.setdefault(here, stack[-1] if stack else None)
        stack.append(here)
        if here in MILESTONES and here not in reached:
            reached.add(here)
            spine.update(stack)

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["train", "--config", config, "--set", "data.limit=600", "--set", "data.val_split=100",
                "--set", "train.epochs=1", "--set", f"checkpoint.dir={tmp}", "--set", f"log.dir={tmp}"]
        sys.setprofile(profile)
        try:
            cli.main(argv, standalone_mode=False)
        finally:
            sys.setprofile(None)
    missing = MILESTONES - reached
    if missing:
        raise SystemExit(f"the run never reached {sorted(missing)}")
    return first_call, spine


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "mlp.yaml"))
    parser.add_argument("--side", action="store_true")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    first_call, spine = trace_train(args.config)
    stops = [f for f, caller in first_call.items() if f in spine or (args.side and caller in spine)]
    visits = []
    for path, name in stops:
        if visits and visits[-1][0] == path:
            visits[-1][1].append(name)
        else:
            visits.append((path, [name]))
    if args.list:
        for path, names in visits:
            print(f"nnpy/{path}: {', '.join(names)}")
    files = {path for path, _ in visits}
    print(f"files {len(files)}  stops {len(stops)}  visits {len(visits)}  "
          f"returns to a file already visited {len(visits) - len(files)}")


if __name__ == "__main__":
    main()
