"""The ``nnpy`` command: train, val, demo, serve, learn, predict, generate, plot, summary, graph,
gradcheck, export, list, data.

User mistakes (``NnpyError``: bad config, missing file, corrupt checkpoint) print one
line on stderr and exit with code 2 — never a traceback.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click
import numpy as np

from .errors import NnpyError

DEFAULT_DEMO_CKPT = Path(__file__).resolve().parent.parent / "data" / "trained_models" / "mnist.json"


def plugin_option(command):
    """``--plugin FILE.py`` (repeatable): import a user's module that registers layers, losses,
    metrics, symbols or datasets before the command runs."""
    def load(ctx, param, paths):
        if paths:
            from .engine.plugins import load_plugins
            load_plugins(paths)     # a PluginError becomes the one-line error of NnpyGroup
        return paths

    return click.option("--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False),
                        metavar="FILE.py", expose_value=False, is_eager=True, callback=load,
                        help="Python file registering your own layers, losses, metrics, … (repeatable).")(command)


def config_argument(command):
    """The YAML experiment config as ``CONFIG`` or ``--config CONFIG`` (one of them, once),
    passed to ``command`` as ``config_path``; neither or both is a one-line error (exit 2)."""
    @functools.wraps(command)
    def run(*args, config_file=None, config_option=None, **kwargs):
        if (config_file is None) == (config_option is None):
            usage = f"nnpy {click.get_current_context().info_name} CONFIG or --config CONFIG"
            raise NnpyError(f"give the config file once: {usage}, not both" if config_file
                            else f"give a config file: {usage} (e.g. configs/mlp.yaml)")
        return command(*args, config_path=config_file or config_option, **kwargs)

    run = click.argument("config_file", metavar="[CONFIG]", required=False, type=click.Path(dir_okay=False))(run)
    return click.option("--config", "config_option", metavar="CONFIG", type=click.Path(dir_okay=False),
                        help="YAML experiment config (or give it as the first argument).")(run)


class NnpyGroup(click.Group):
    """Turns ``NnpyError`` into ``nnpy: error: <one line>`` and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NnpyError as exc:
            from .engine.parallel import stop_processes

            if not getattr(exc, "quiet", False):       # under mpiexec, process 0 reports what all met
                for line in exc.message_lines():        # one line; a table's bad cells, one each
                    click.echo(f"nnpy: error: {line}", err=True)
            stop_processes(exc)                         # under mpiexec, an error only this process met ends all
            sys.exit(2)


@click.group(cls=NnpyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnpy", prog_name="nnpy")
@click.pass_context
def main(ctx):
    """nnpy — deep learning on numpy alone, driven by YAML configs.

    \b
    nnpy train --config configs/mlp.yaml
    nnpy val --ckpt checkpoints/mlp/best.json
    nnpy demo data/samples/
    mpiexec -n 2 nnpy train --config configs/mlp.yaml   (pip install -e ".[mpi]")
    """
    from .engine.parallel import runs_on_this_process
    from .kernels.threads import set_num_threads
    from .nn.memory import keep_freed_memory

    keep_freed_memory()      # the command line tunes the process for training (nnpy.nn.memory)
    set_num_threads()        # and splits large element-wise passes over the cores (nnpy.kernels.threads)
    if not runs_on_this_process(ctx.invoked_subcommand):     # under mpiexec, only train runs on several
        ctx.exit(0)


@main.command()
@config_argument
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value (parsed as YAML); repeatable.")
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue from a checkpoint (last.json) exactly where it stopped.")
@click.option("--allow-change", "allow_change", multiple=True, metavar="KEY",
              help="With --resume: accept this config key differing from the checkpoint's.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@click.option("--profile", is_flag=True, help="Time forward/backward of every layer.")
@click.option("--watch", "watch_port", type=click.IntRange(0, 65535), is_flag=False, flag_value=8000,
              default=None, metavar="[PORT]",
              help="Serve a page that shows the run as it trains, on PORT (default 8000; 0: any free port).")
@click.option("--watch-host", default="127.0.0.1", show_default=True,
              help="Address of the --watch page; anything but this machine's own is reachable by others.")
@plugin_option
def train(config_path, overrides, resume, allow_change, print_config, profile, watch_port, watch_host):
    """Train the model a config describes.

    \b
    Example:
      nnpy train --config configs/alexnet.yaml --set optimizer.lr=0.01 --set train.epochs=3
      nnpy train --config configs/alexnet.yaml --resume checkpoints/alexnet/last.json
      nnpy train --config configs/mlp.yaml --watch      # then open http://127.0.0.1:8000/
    """
    import shlex

    from .engine.run import load_run_plan, train as run_training
    from .io.yamlfile import dump_yaml

    plan = load_run_plan(config_path, overrides)    # the whole config checked, the model built
    if print_config:
        click.echo(dump_yaml(plan.config), nl=False)
        return
    command = shlex.join(["nnpy", "train", "--config", config_path,
                          *[a for o in overrides for a in ("--set", o)],
                          *[a for k in allow_change for a in ("--allow-change", k)]])
    callbacks = watch_callbacks(watch_port, watch_host, plan.name) if watch_port is not None else []
    result = run_training(plan, resume=resume, allow_change=allow_change, profile=profile, command=command,
                          callbacks=callbacks)
    code = result.state.exit_code
    if code:
        sys.exit(code)


def watch_callbacks(port: int, host: str, run_name: str) -> list:
    """``--watch``: the page's server on a daemon thread (process 0 of several) and the
    callback that publishes the run to it."""
    from .engine.parallel import communicator
    from .localweb import url_of
    from .watch import Board, WatchCallback, start_watch_server

    if communicator().rank != 0:
        return []
    board = Board()
    server = start_watch_server(board, host, port)
    warn_if_public("nnpy train --watch", host)
    click.echo(f"nnpy train: watch the run at {url_of(server)}", err=True)
    return [WatchCallback(board, name=run_name)]


@main.command()
@click.option("--ckpt", required=True, type=click.Path(dir_okay=False), help="Checkpoint (best.json).")
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Also write report.md, confusion.png and mistakes.png (a denoiser: denoised.png) into this folder "
                   "(needs matplotlib).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Folder with the dataset's files (instead of the checkpoint's data.root).")
@plugin_option
def val(ckpt, split, as_json, report_dir, data_root):
    """Evaluate a checkpoint: loss, accuracy, per-class accuracy and confusion matrix.

    \b
    Example:
      nnpy val --ckpt checkpoints/alexnet/best.json --json
      nnpy val --ckpt checkpoints/alexnet/best.json --report reports/alexnet
      nnpy val --ckpt data/trained_models/fashion-mnist.json --data-root ~/data/fashion-mnist
    """
    from .engine.evaluate import evaluate_checkpoint, evaluation_json, evaluation_lines
    from .terminal import terminal_width

    if report_dir:
        from .viz import require_matplotlib
        require_matplotlib("nnpy val --report")
    result = evaluate_checkpoint(ckpt, split, data_root=data_root)
    if as_json:
        click.echo(json.dumps(evaluation_json(result)))
    else:
        for line in evaluation_lines(ckpt, split, result, terminal_width(sys.stdout)):
            click.echo(line)
    if report_dir:
        import shlex
        from .viz.report import write_report

        command = shlex.join(["nnpy", "val", "--ckpt", ckpt, "--split", split, "--report", report_dir]
                             + (["--data-root", data_root] if data_root else []))
        report = write_report(ckpt, result, report_dir, command=command)
        click.echo(f"report: {report}", err=as_json)


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
@plugin_option
def demo(paths, ckpt, topk, multi, as_json, explain_dir):
    """Read hand-written digits (one per image, or a row with --multi) from files or folders.

    \b
    Example:
      nnpy demo data/samples/ --topk 3
      nnpy demo photo_of_a_seven.jpg --ckpt checkpoints/alexnet/best.json --json
      nnpy demo data/samples/rows/1234567890.jpg --multi
      nnpy demo data/samples/ --explain explained/
    """
    from .digits.reader import predict_files, public

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
            count = len(r["digits"])
            click.echo(f"{r['path']}: {r['text']}   ({count} digit{'' if count == 1 else 's'}, "
                       f"least sure {100 * sure:.1f}%)")
    else:
        for r in results:
            top = "  ".join(f"{label} {100 * p:.1f}%" for label, p in r["top"])
            click.echo(f"{r['path']}: {r['label']}   ({top})")
    if explain_dir:
        from .digits.explain import explain_results

        for source, picture in explain_results(results, failures, explain_dir):
            click.echo(f"explained {source} -> {picture}", err=as_json)
    for r in results:
        if "note" in r:
            click.echo(f"nnpy: note: {r['path']}: {r['note']}", err=True)
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
    from .digits.server import make_server

    shipped = sorted(DEFAULT_DEMO_CKPT.parent.glob("*.json"), key=lambda p: p != DEFAULT_DEMO_CKPT)
    server = make_server([*ckpts, *map(str, shipped)], host, port, verbose)
    warn_if_public("nnpy serve", host)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"nnpy serve: http://{shown}:{server.server_address[1]}/  "
               f"(models: {', '.join(server.models.readers)}; Ctrl-C stops)")
    serve_until_stopped("nnpy serve", server)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine's own is reachable by others.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--verbose", is_flag=True, help="Log every request on stderr.")
def learn(host, port, verbose):
    """A local web page: step a small network through Forward, Backward and Step on a
    2-D problem, or Train it and watch the decision boundary, loss and gradients live.

    \b
    Example:
      nnpy learn                      # then open http://127.0.0.1:8000/
      nnpy learn --port 8080
    """
    from .learn.server import make_learn_server
    from .localweb import url_of

    server = make_learn_server(host, port, verbose=verbose)
    warn_if_public("nnpy learn", host)
    click.echo(f"nnpy learn: {url_of(server)}  (Ctrl-C stops)")
    serve_until_stopped("nnpy learn", server)


def warn_if_public(command: str, host: str) -> None:
    """One warning line when a page listens on an address others can reach."""
    from .localweb import LOCAL_HOSTS

    if host not in LOCAL_HOSTS:
        click.echo(f"{command}: warning: listening on {host}: anyone who can reach this machine "
                   f"can use the page (and its CPU)", err=True)


def serve_until_stopped(command: str, server) -> None:
    """Serve until Ctrl-C, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo(f"{command}: stopped")
    finally:
        server.server_close()


@main.command()
@click.option("--ckpt", required=True, type=click.Path(dir_okay=False), help="Checkpoint of a CSV model.")
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False), help="CSV file with a header row.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="CSV file to write [default: print the table].")
@plugin_option
def predict(ckpt, csv_path, out):
    """Predict the target of every row of a CSV file with a model trained on a CSV table.

    The output is the input's columns, then predicted_<target> and, for a classifier, the
    probability of each class.

    \b
    Example:
      nnpy predict --ckpt checkpoints/boston-csv/best.json --csv data/boston-housing/boston.csv --out preds.csv
    """
    import csv

    from .engine.predict import predict_csv

    header, rows = predict_csv(ckpt, csv_path)
    if out is None:
        import io
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([header, *rows])
        click.echo(text.getvalue(), nl=False)
        return
    try:
        with open(out, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([header, *rows])
    except OSError as exc:
        from .errors import DataError
        raise DataError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    click.echo(f"wrote {len(rows)} predictions to {out}")


@main.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(), metavar="[RUN_DIR]...")
@click.option("--filters", "filters_ckpt", type=click.Path(dir_okay=False), default=None,
              help="Instead: draw the kernels of this checkpoint's first Conv2D (Pillow only).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="PNG to write [default: RUN_DIR/curves.png (the first RUN_DIR); "
                   "with --filters: <CKPT without .json>-filters.png].")
@plugin_option
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
@config_argument
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@plugin_option
def summary(config_path, overrides):
    """Print the model table: layer, output shape, parameters, FLOPs.

    \b
    Example:
      nnpy summary --config configs/alexnet.yaml
    """
    from .engine.plan import load_plan
    from .engine.summary import summary as table

    click.echo(table(load_plan(config_path, overrides).model))


@main.command()
@config_argument
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="File to write; its extension is the format (svg, png, pdf; .dot for the text) "
                   "[default: <config file stem>-graph.svg].")
@plugin_option
def graph(config_path, overrides, out):
    """Draw the model of a config: layers with type and output shape, Residual branches.

    Rendered with Graphviz's `dot` when it is installed; without it, the DOT text is written.

    \b
    Example:
      nnpy graph --config configs/resnet-fashion.yaml --out resnet.svg
    """
    from .engine.plan import load_plan
    from .viz.graph import model_to_dot, write_graph

    out = out or f"{Path(config_path).stem}-graph.svg"
    written, rendered = write_graph(model_to_dot(load_plan(config_path, overrides).model), out)
    if rendered or written == Path(out):
        click.echo(f"wrote {written}")
    else:
        click.echo(f"wrote {written} (DOT text: Graphviz's `dot` is not installed; render it with "
                   f"`dot -T{Path(out).suffix.lstrip('.')} {written} -o {out}`)")


@main.command()
@config_argument
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@plugin_option
def gradcheck(config_path, overrides):
    """Check every layer's backward of a config's model against finite differences (float64).

    \b
    Example:
      nnpy gradcheck --config configs/lenet.yaml
    """
    from .engine.plan import load_plan
    from .nn.gradcheck import gradcheck as check

    model = load_plan(config_path, overrides).model
    failed = 0
    for layer in model.layers:
        result = check(layer, layer.input_shape, max_entries=20,
                       x=layer.example_input(2, np.random.default_rng(0)))
        status = "ok" if result.passed else "FAIL"
        failed += not result.passed
        click.echo(f"{layer.name:24s} {layer.type_name:16s} worst relative error {result.worst:.2e}  {status}")
    click.echo(f"{len(model.layers) - failed}/{len(model.layers)} layers pass (tolerance 1e-6)")
    if failed:
        sys.exit(1)


@main.command(name="export")
@click.argument("ckpt", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@plugin_option
def export_cmd(ckpt, out):
    """Export a checkpoint; OUT's extension picks the format.

    \b
    .json  an inference-only checkpoint (no optimizer state; about half the size)
    .onnx  an ONNX model taking raw inputs, for onnxruntime, Netron and converters
           (needs: pip install -e ".[onnx]")

    \b
    Examples:
      nnpy export checkpoints/mnist-demo/best.json data/trained_models/mnist.json
      nnpy export data/trained_models/mnist.json mnist.onnx
    """
    from .export import OPSET, ExportError, export_onnx, require_onnx

    suffix = Path(out).suffix.lower()
    if suffix not in (".json", ".onnx"):
        raise ExportError(f"export: cannot tell the format of '{out}': end it in .json (an inference-only "
                          f"checkpoint) or .onnx (an ONNX model)")
    if suffix == ".json":
        from .engine.checkpoint_content import write_inference_copy

        write_inference_copy(ckpt, out)
        note = f"`nnpy val --ckpt {out}` evaluates it"
    else:
        from .engine.checkpoint_content import plan_from_checkpoint

        require_onnx()
        plan, _ = plan_from_checkpoint(ckpt)
        model, task = plan.model, plan.data.task          # the graph normalizes as the model does
        export_onnx(model, out, class_names=plan.data.class_names, name=plan.name, task=task)
        outputs = "logits, probs" if task == "classification" else "predictions"
        note = f"ONNX opset {OPSET}: input 'input' {('batch', *model.input_shape)}, outputs {outputs}"
    size = Path(out).stat().st_size
    click.echo(f"{ckpt} → {out} ({size / 1e6:.2f} MB; {note})")


REGISTRIES = ("layers", "symbols", "optimizers", "schedulers", "losses", "metrics", "initializers", "datasets")


@main.command()
@click.option("--ckpt", required=True, type=click.Path(dir_okay=False), help="Checkpoint of a text model.")
@click.option("--prompt", default="", show_default=True, help="Text to continue (characters of the vocabulary).")
@click.option("--tokens", default=500, show_default=True, type=int, help="Characters to write.")
@click.option("--temperature", default=0.8, show_default=True, type=float,
              help="Below 1: likelier characters; above: more varied.")
@click.option("--top-k", "top_k", default=None, type=int,
              help="Draw among the K likeliest characters only [default: 40, or the vocabulary if smaller].")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the draws.")
@plugin_option
def generate(ckpt, prompt, tokens, temperature, top_k, seed):
    """Write text with a character-level model (trained on the text dataset), character by
    character as it is drawn (a key/value cache: each costs one position).

    \b
    Example:
      nnpy generate --ckpt checkpoints/gpt-shakespeare-baby/best.json --prompt "ROMEO:" --tokens 300
    """
    from .engine.checkpoint_content import load
    from .engine.generate import DEFAULT_TOP_K, check_top_k, generate_text, vocabulary_of

    model = load(ckpt)
    size = len(vocabulary_of(model))
    top_k = min(DEFAULT_TOP_K, size) if top_k is None else top_k
    check_top_k(top_k, size)
    characters = generate_text(model, prompt, tokens, temperature, top_k, seed)
    first = next(characters)                    # the checks run before anything is printed
    click.echo(prompt + first, nl=False)
    for ch in characters:
        click.echo(ch, nl=False)
        sys.stdout.flush()
    click.echo()


@main.command(name="list")
@click.argument("what", type=click.Choice(REGISTRIES), metavar="WHAT")
def list_registry(what):
    """Print a registry's names, each with the first sentence of its description.

    WHAT is one of: layers, symbols, optimizers, schedulers, losses, metrics, initializers,
    datasets.

    \b
    Example:
      nnpy list layers
    """
    import shutil
    import textwrap

    from . import registry
    import nnpy.data  # noqa: F401  (registers datasets)
    import nnpy.symbols  # noqa: F401  (registers symbols)

    reg = getattr(registry, what.upper())
    names = reg.names()
    pad = max(len(n) for n in names) + 2
    width = max(shutil.get_terminal_size((100, 24)).columns, pad + 30)
    for name in names:
        lines = textwrap.wrap(first_sentence(reg.get(name).__doc__), width - pad) or [""]
        click.echo(f"{name:{pad}s}{lines[0]}")
        for line in lines[1:]:
            click.echo(" " * pad + line)


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph (lines joined)."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[:end + 1]


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
