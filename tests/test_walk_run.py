"""``tools/walk_run.py``: the count issue 28 asks for (one ``nnpy train`` followed from the command
to the layer's forward and back to the checkpoint write) runs, reaches its four milestones,
prints counts that agree with the visits it lists, and returns to a file already visited at most
20 times (issue 28's "done when"; 32 before the redesign, 24 before the loop was tidied)."""
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.tools import load_tool

REPO = Path(__file__).resolve().parents[1]


def test_comprehensions_and_lambdas_are_their_enclosing_function():
    """A reader reads a comprehension, generator expression or lambda as part of the function it is
    written in: the walk names that function, not a stop of its own."""
    walk = load_tool("walk_run")
    source = ("def outer(xs):\n"
              "    return [{k: (lambda v: v)(k) for k in x} for x in xs], sum(x for x in xs)\n"
              "f = lambda: 1\n")
    codes = []

    def collect(code):
        codes.append(code)
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                collect(const)
    collect(compile(source, str(REPO / "nnpy" / "example.py"), "exec"))
    names = {walk.where(code) for code in codes}
    assert names == {("example.py", "<module>"), ("example.py", "outer")}


def test_walk_of_one_train_reaches_the_milestones_and_counts_agree():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, str(REPO / "tools" / "walk_run.py"), "--side", "--list"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    visits = [line for line in out.stdout.splitlines() if line.startswith("nnpy/")]
    text = "\n".join(visits)
    for file, function in [("nn/layers/dense.py", "Dense.forward"), ("nn/layers/dense.py", "Dense.backward"),
                           ("optim/optimizers.py", "Optimizer.step"), ("io/checkpoint.py", "save_checkpoint")]:
        assert re.search(rf"^nnpy/{re.escape(file)}: .*\b{re.escape(function)}\b", text, re.M), function
    assert visits[0] == "nnpy/cli.py: train"
    assert "<listcomp>" not in text and "<genexpr>" not in text and "<lambda>" not in text
    counts = re.search(r"files (\d+)  stops (\d+)  visits (\d+)  returns to a file already visited (\d+)",
                       out.stdout)
    files, stops, n_visits, returns = map(int, counts.groups())
    print(counts.group(0))
    assert n_visits == len(visits) and n_visits - files == returns
    assert files == len({line.split(":")[0] for line in visits})
    assert stops == sum(len(line.split(": ", 1)[1].split(", ")) for line in visits)
    assert returns <= 20, f"issue 28 asks for at most 20 returns to a file already visited:\n{out.stdout}"
