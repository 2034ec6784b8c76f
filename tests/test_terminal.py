"""What a student sees in a real terminal: `nnpy train` in a pseudo-terminal of 60, 80 and 120
columns never lets a line wrap by itself -- the progress line always fits, status lines break
only between fields -- so an epoch costs a few lines of scrollback, not one per update."""
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from nnpy.terminal import Progress, fit_progress, wrap_fields, wrap_line

REPO = Path(__file__).resolve().parents[1]
ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_in_terminal(args, columns: int, cwd) -> str:
    """Everything ``args`` writes to a pseudo-terminal ``columns`` wide (stdout and stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode()


def screen_lines(text: str, columns: int) -> tuple[int, int, list[str]]:
    """(lines the terminal scrolled by, lines it wrapped by itself, the final text of each line):
    a small terminal emulator for carriage returns, newlines, erase-to-end and auto-wrap."""
    text = ESCAPE.sub("", text.replace("\r\n", "\n"))
    scrolled, wrapped, col, line, final = 0, 0, 0, [], []
    for ch in text:
        if ch == "\r":
            col, line = 0, []
        elif ch == "\n":
            final.append("".join(line))
            scrolled, col, line = scrolled + 1, 0, []
        else:
            if col == columns:
                scrolled, wrapped, col = scrolled + 1, wrapped + 1, 0
            col += 1
            line.append(ch)
    return scrolled, wrapped, final


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_train_output_fits_the_terminal(tmp_path, columns):
    args = [sys.executable, "-m", "nnpy.cli", "train", "--config", str(REPO / "configs" / "mlp.yaml"),
            "--set", "data.limit=900", "--set", "data.val_split=100", "--set", "data.batch_size=20",
            "--set", "model.hidden=[16]", "--set", "train.epochs=2"]
    out = run_in_terminal(args, columns, tmp_path)
    scrolled, wrapped, lines = screen_lines(out, columns)
    assert out.count("\r") >= 40            # the progress line was drawn (40 steps per epoch)
    assert wrapped == 0, f"{wrapped} lines wrapped by the terminal at {columns} columns"
    assert scrolled == len(lines) < 40      # one line per line written: no scrollback per update
    log = (next((tmp_path / "runs" / "mlp").iterdir()) / "train.log").read_text().splitlines()
    epochs = [i for i, text in enumerate(lines) if text.startswith("epoch ")]
    assert len(epochs) == 2
    for i in epochs:                        # an epoch summary breaks only between its fields
        parts = [lines[i]]
        for text in lines[i + 1:]:
            if not text.startswith("    "):
                break
            parts.append(text.strip())
        assert "  ".join(parts) in log, parts
    assert any(t.startswith("time per phase") for t in lines)


def test_progress_line_drops_fields_to_fit():
    fields = {"epoch": "epoch 12/20", "bar": "", "count": "361/430", "loss": "loss 0.1234",
              "metric": "accuracy 0.9876", "speed": "4870 samples/s", "eta": "ETA 12 s"}
    wide = fit_progress(fields, 200, 0.5)
    assert "4870 samples/s" in wide and "[############------------]" in wide
    for width in (40, 50, 60, 80):
        line = fit_progress(fields, width, 0.5)
        assert len(line) <= width - 1 and line.startswith("epoch 12/20") and "loss 0.1234" in line
    assert "samples/s" not in fit_progress(fields, 60, 0.5)


def test_wrapping_breaks_between_fields_and_words_only():
    fields = ["epoch 3/10", "train_loss 0.1234", "train_accuracy 0.9644", "val_loss 0.1000", "lr 0.00428"]
    for width in (30, 45, 200):
        lines = wrap_fields(fields, width)
        assert [f for line in lines for f in line.strip().split("  ")] == fields
        assert all(len(line) <= max(width, max(map(len, fields)) + 4) for line in lines)
    note = "note: the learning rate never reaches optimizer.lr (0.05); lower the warm-up"
    lines = wrap_line(note, 30)
    assert len(lines) == 3 and all(len(line) <= 30 for line in lines)
    assert " ".join(line.strip() for line in lines) == note
    assert wrap_line("  nnpy train --config a/very/long/path.yaml --resume x/last.json", 20) == [
        "  nnpy train --config a/very/long/path.yaml --resume x/last.json"]   # a command stays whole


def test_the_progress_line_is_drawn_on_a_terminal_and_erased():
    stream = io.StringIO()
    with Progress(4, "decoding d/", stream=stream, enabled=True) as bar:
        for _ in range(4):
            bar.advance()
    text = stream.getvalue()
    assert "decoding d/ [" + "#" * 24 + "] 4/4" in text and text.endswith("\r\033[K")
    quiet = io.StringIO()
    with Progress(4, "decoding d/", stream=quiet) as bar:          # not a terminal: nothing
        bar.advance(4)
    assert quiet.getvalue() == ""
