"""The ``nnpy`` command: train, val, demo, serve, plot, summary, gradcheck, export, list, data.

User mistakes (``NnpyError``: bad config, missing file, corrupt checkpoint) print one
line on stderr and exit with code 2 — never a traceback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from .errors import NnpyError

DEFAULT_DEMO_CKPT = Path(__file__).resolve().parent.parent / "data" / "trained_models" / "mnist.json"


class NnpyGroup(click.Group):
    """Turns ``NnpyError`` into ``nnpy: error: <one line>`` and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnpyError as exc:
            message = " ".join(str(exc).split("\n"))
            click.echo(f"nnpy: error: {message}", err=True)
            sys.exit(2)


@click.group(cls=NnpyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnpy", prog_name="nnpy")
def main():
    """nnpy — deep learning on numpy alone, driven by YAML configs.

    \b
    nnpy train --config configs/mlp.yaml
    nnpy val --ckpt checkpoints/mlp/best.json
    nnpy demo data/samples/
    """


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="YAML experiment config.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value (parsed as YAML); repeatable.")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue from a checkpoint (last.json) exactly where it stopped.")
@click.option("--allow-change", "allow_change", multiple=True, metavar="KEY",
              help="With --resume: accept this config key differing from the checkpoint's.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option("--profile", is_flag=True, help="Time forward/backward of every layer.")
def train(config_path, overrides, resume, allow_change, print_config, profile):
    """Train the model a config describes.

    \b
    Example:
      nnpy train --config configs/alexnet.yaml --set optimizer.lr=0.01 --set train.epochs=3
      nnpy train --config configs/alexnet.yaml --resume checkpoints/alexnet/last.json
    """
    from .engine.config import load_experiment
    from .io.yamlfile import dump_yaml

    cfg = load_experiment(config_path, overrides)
    if print_config:
        click.echo(dump_yaml(cfg), nl=False)
        return
    from .engine.experiment import train as run_training

    import shlex

    command = shlex.join(["nnpy", "train", "--config", config_path,
                          *[a for o in overrides for a in ("--set", o)],
                          *[a for k in allow_change for a in ("--allow-change", k)]])
    result = run_training(cfg, resume=resume, allow_change=allow_change, profile=profile, command=command)
    code = result["state"].exit_code
    if code:
        sys.exit(code)


@main.command()
@click.option("--ckpt", required=True, type=click.Path(dir_okay=False), help="Checkpoint (best.json).")
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Also write report.md, confusion.png and mistakes.png into this folder (needs matplotlib).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Folder with the dataset's files (instead of the checkpoint's data.root).")
def val(ckpt, split, as_json, report_dir, data_root):
    """Evaluate a checkpoint: loss, accuracy, per-class accuracy and confusion matrix.

    \b
    Example:
      nnpy val --ckpt checkpoints/alexnet/best.json --json
      nnpy val --ckpt checkpoints/alexnet/best.json --report reports/alexnet
      nnpy val --ckpt data/trained_models/fashion-mnist.json --data-root ~/data/fashion-mnist
    """
    from .engine.experiment import validate

    if report_dir:
        from .viz import require_matplotlib
        require_matplotlib("nnpy val --report")
    result = validate(ckpt, split, data_root=data_root)
    if as_json:
        keys = ("loss", "accuracy", "error", "per_class", "confusion", "n") if "accuracy" in result \
            else ("loss", "mse", "mae", "n")
        click.echo(json.dumps({k: result[k] for k in keys}))
    else:
        print_evaluation(ckpt, split, result)
    if report_dir:
        import shlex
        from .viz.report import write_report

        command = shlex.join(["nnpy", "val", "--ckpt", ckpt, "--split", split, "--report", report_dir]
                             + (["--data-root", data_root] if data_root else []))
        report = write_report(ckpt, result, report_dir, command=command)
        click.echo(f"report: {report}", err=as_json)


def print_evaluation(ckpt, split, result):
    """The human-readable output of ``nnpy val``."""
    click.echo(f"{ckpt} · {split} split · {result['n']} samples")
    click.echo(f"loss {result['loss']:.4f}")
    if "accuracy" in result:
        click.echo(f"accuracy {100 * result['accuracy']:.2f}%  error {100 * result['error']:.2f}%")
        names = result.get("class_names") or [str(i) for i in range(len(result["per_class"]))]
        click.echo("per class: " + "  ".join(f"{n} {100 * a:.1f}%" for n, a in zip(names, result["per_class"])))
        click.echo("confusion matrix (rows: true, columns: predicted):")
        width = max(len(str(v)) for row in result["confusion"] for v in row) + 1
        for name, row in zip(names, result["confusion"]):
            click.echo(f"{str(name)[:12]:>12} " + "".join(str(v).rjust(width) for v in row))
    else:
        click.echo(f"mse {result['mse']:.6f}  mae {result['mae']:.6f}")


@main.command(epilog="Exit status: 0 when every input was read, 1 when some inputs could not "
                     "be read (each has its own error line; the others are still read), 2 for "
                     "usage and config errors (a bad option, a missing or corrupt checkpoint).")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--ckpt", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to use (default: the shipped MNIST model).")
@click.option("--topk", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--multi", is_flag=True, help="Each image is a row of digits: print the string.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: a list of {path, label, probs, box} (--multi: {path, text, digits}).")
@click.option("--explain", "explain_dir", type=click.Path(file_okay=False), default=None,
              help="Save per image a PNG of every preprocessing stage and the probabilities, "
                   "also for images that fail (needs matplotlib).")
def demo(paths, ckpt, topk, multi, as_json, explain_dir):
    """Read hand-written digits (one per image, or a row with --multi) from files or folders.

    \b
    Example:
      nnpy demo data/samples/ --topk 3
      nnpy demo photo_of_a_seven.jpg --ckpt checkpoints/alexnet/best.json --json
      nnpy demo data/samples/rows/1234567890.jpg --multi
      nnpy demo data/samples/ --explain explained/
    """
    from .engine.demo import predict_files, public

    if explain_dir:
        from .viz import require_matplotlib
        require_matplotlib("nnpy demo --explain")
    ckpt = ckpt or str(DEFAULT_DEMO_CKPT)
    results, failures = predict_files(paths, ckpt, topk, multi=multi, keep_stages=bool(explain_dir))
    if as_json:
        click.echo(json.dumps([public(r) for r in results]))
    elif multi:
        for r in results:
            sure = min((d["probs"][d["label"]] for d in r["digits"]), default=0.0)
            click.echo(f"{r['path']}: {r['text']}   ({len(r['digits'])} digits, "
                       f"least sure {100 * sure:.1f}%)")
    else:
        for r in results:
            top = "  ".join(f"{label} {100 * p:.1f}%" for label, p in r["top"])
            click.echo(f"{r['path']}: {r['label']}   ({top})")
    if explain_dir:
        from .viz.explain import explain_results

        for source, picture in explain_results(results, failures, explain_dir):
            click.echo(f"explained {source} -> {picture}", err=as_json)
    for failure in failures:
        click.echo(f"nnpy: error: {failure['error']}", err=True)
    if failures:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine's own is reachable by others.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--ckpt", "ckpts", multiple=True, type=click.Path(dir_okay=False),
              help="A checkpoint to offer (repeatable; the first is the default), besides the shipped models.")
@click.option("--verbose", is_flag=True, help="Log every request on stderr.")
def serve(host, port, ckpts, verbose):
    """A local web page: draw a digit or drop a photo, watch the model read it.

    \b
    Example:
      nnpy serve                      # then open http://127.0.0.1:8000/
      nnpy serve --port 8080 --ckpt checkpoints/lenet/best.json
    """
    from .serve import make_server

    shipped = sorted(DEFAULT_DEMO_CKPT.parent.glob("*.json"), key=lambda p: p != DEFAULT_DEMO_CKPT)
    server = make_server([*ckpts, *map(str, shipped)], host, port, verbose)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"nnpy serve: warning: listening on {host}: anyone who can reach this machine "
                   f"can use the page (and its CPU)", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"nnpy serve: http://{shown}:{server.server_address[1]}/  "
               f"(models: {', '.join(server.models.readers)}; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("nnpy serve: stopped")
    finally:
        server.server_close()


@main.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(), metavar="[RUN_DIR]...")
@click.option("--filters", "filters_ckpt", type=click.Path(dir_okay=False), default=None,
              help="Instead: draw the kernels of this checkpoint's first Conv2D (Pillow only).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="PNG to write [default: RUN_DIR/curves.png (the first RUN_DIR); "
                   "with --filters: <CKPT without .json>-filters.png].")
def plot(run_dirs, filters_ckpt, out):
    """Draw loss, metric and learning rate per epoch of runs (several overlay), or filters.

    \b
    Example:
      nnpy plot runs/mlp/20250101-120000
      nnpy plot runs/mlp/20250101-120000 runs/lenet/20250102-090000 --out compare.png
      nnpy plot --filters checkpoints/lenet/best.json
    """
    if filters_ckpt:
        if run_dirs:
            raise click.UsageError("give RUN_DIR… or --filters CKPT, not both")
        from .viz.grids import plot_filters

        ckpt = Path(filters_ckpt)
        written = plot_filters(ckpt, out or ckpt.with_name(f"{ckpt.stem}-filters.png"))
    else:
        if not run_dirs:
            raise click.UsageError("give at least one RUN_DIR (a folder with metrics.csv), or --filters CKPT")
        from .viz import require_matplotlib
        from .viz.curves import find_metrics, plot_curves

        csv_files = [find_metrics(d) for d in run_dirs]   # a wrong folder is worth knowing first
        require_matplotlib("nnpy plot")
        written = plot_curves(run_dirs, out or csv_files[0].parent / "curves.png")
    click.echo(f"wrote {written}")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def summary(config_path, overrides):
    """Print the model table: layer, output shape, parameters, FLOPs.

    \b
    Example:
      nnpy summary --config configs/alexnet.yaml
    """
    from .engine.config import load_experiment, model_of
    from .engine.summary import summary as table

    click.echo(table(model_of(load_experiment(config_path, overrides))))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def gradcheck(config_path, overrides):
    """Check every layer's backward of a config's model against finite differences (float64).

    \b
    Example:
      nnpy gradcheck --config configs/lenet.yaml
    """
    from .engine.config import load_experiment, model_of
    from .nn.gradcheck import gradcheck as check

    model = model_of(load_experiment(config_path, overrides), rng=np.random.default_rng(0))
    failed = 0
    for layer in model.layers:
        shape = layer.input_shape
        kwargs = {}
        if layer.type_name == "Embedding":
            kwargs["x"] = np.random.default_rng(0).integers(0, layer.input_dim, size=(2, *shape))
        result = check(layer, shape, max_entries=20, **kwargs)
        status = "ok" if result.passed else "FAIL"
        failed += not result.passed
        click.echo(f"{layer.name:24s} {layer.type_name:16s} worst relative error {result.worst:.2e}  {status}")
    click.echo(f"{len(model.layers) - failed}/{len(model.layers)} layers pass (tolerance 1e-6)")
    if failed:
        sys.exit(1)


@main.command(name="export")
@click.argument("ckpt", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
def export_cmd(ckpt, out):
    """Write an inference-only copy of a checkpoint (no optimizer state; about half the size).

    \b
    Example:
      nnpy export checkpoints/mnist-demo/best.json data/trained_models/mnist.json
    """
    from .engine.experiment import export_checkpoint

    export_checkpoint(ckpt, out)
    size = Path(out).stat().st_size
    click.echo(f"{ckpt} → {out} ({size / 1e6:.2f} MB; `nnpy val --ckpt {out}` evaluates it)")


@main.command(name="list")
@click.argument("what", type=click.Choice(["layers", "symbols", "optimizers", "schedulers", "losses",
                                           "metrics", "initializers", "datasets"]))
def list_registry(what):
    """Print a registry's names.

    \b
    Example:
      nnpy list layers
    """
    from . import registry
    import nnpy.data  # noqa: F401  (registers datasets)
    import nnpy.models  # noqa: F401  (registers symbols)

    reg = getattr(registry, what.upper())
    for name in reg.names():
        doc = (reg.get(name).__doc__ or "").strip().splitlines()
        click.echo(f"{name:22s} {doc[0] if doc else ''}")


@main.group()
def data():
    """Datasets: fetch the ones that are not embedded."""


@data.command()
@click.argument("name", type=click.Choice(["fashion-mnist"]))
@click.option("--dest", type=click.Path(file_okay=False), default=None, help="Target folder.")
def fetch(name, dest):
    """Download a dataset, verify its checksums and put it in place.

    \b
    Example:
      nnpy data fetch fashion-mnist
    """
    from .data.fetch import fetch as do_fetch

    where = do_fetch(name, dest=dest)
    click.echo(f"{name}: ready in {where}")


if __name__ == "__main__":
    main()
