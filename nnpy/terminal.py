"""Text that fits the terminal: lines wrapped between fields, the training's progress line that
never wraps (``fit_progress``), and the progress bar of slow data preparation (``Progress``).

A *field* is one piece of a status line (``loss 0.1234``, ``lr 0.05``, ``12.3 s``); lines of
fields are joined by two spaces and, when too wide, broken only between fields. Output that is
not a terminal (a log file, a pipe) is never wrapped, and sees no progress bar.
"""
from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time

SEP = "  "
INDENT = "    "
BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


def terminal_width(stream) -> int | None:
    """The width of the terminal ``stream`` writes to, or None when it is not a terminal."""
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def wrap_fields(fields: list[str], width: int | None) -> list[str]:
    """``fields`` joined by two spaces, in as many lines of at most ``width`` as needed (each
    continuation indented); a field is never split."""
    if width is None:
        return [SEP.join(fields)]
    lines, current = [], ""
    for field in fields:
        candidate = f"{current}{SEP}{field}" if current else (INDENT if lines else "") + field
        if current and len(candidate) > width:
            lines.append(current)
            current = INDENT + field
        else:
            current = candidate
    return lines + [current]


def wrap_line(line: str, width: int | None) -> list[str]:
    """One output line fitted to ``width``: a line of two-space-separated fields breaks between
    fields, prose between words, an indented command is left whole."""
    if width is None or len(line) <= width or line.startswith(INDENT[:2]):
        return [line]
    if SEP in line.strip():
        return wrap_fields(line.split(SEP), width)
    return textwrap.wrap(line, width, subsequent_indent=INDENT, break_long_words=False,
                         break_on_hyphens=False) or [line]


def fit_progress(fields: dict, width: int | None, bar_fraction: float) -> str:
    """The progress line from ``fields`` (name → text, in display order; ``bar`` is drawn here)
    within ``width - 1`` columns: the bar narrows from 24 to 10 characters, then fields are
    dropped -- throughput, ETA, the metric, the bar -- and at last the line is cut."""
    limit = (width or 100) - 1
    shown = dict(fields)
    for drop in (None, "speed", "eta", "metric", "bar"):
        if drop:
            shown.pop(drop, None)
        for bar_width in (24, 16, 10):
            if "bar" in shown:
                shown["bar"] = draw_bar(bar_fraction, bar_width)
            line = " ".join(shown.values())
            if len(line) <= limit:
                return line
    return line[:limit]


def draw_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[######------]``: ``width`` characters between the brackets, ``fraction`` of them filled."""
    filled = int(width * fraction)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class Progress:
    """``with Progress(total, "decoding shapes/") as bar: … bar.advance()`` — one line
    ``decoding shapes/ [#####-----] 120/900 3 s, ETA 19 s`` on ``stream`` (stderr), drawn only
    when it is a terminal, redrawn at most ten times a second, and erased when done."""

    def __init__(self, total: int, label: str, stream=None, enabled: bool | None = None):
        self.total, self.label, self.done = max(int(total), 0), label, 0
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.start = self.drawn = time.perf_counter()

    def __enter__(self) -> "Progress":
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self.drawn >= REDRAW_SECONDS or self.done == self.total):
            self.drawn = now
            self.stream.write("\r" + self.line(now - self.start) + "\033[K")
            self.stream.flush()

    def line(self, elapsed: float) -> str:
        """The progress line after ``elapsed`` seconds, cut to the terminal's width."""
        fraction = self.done / self.total if self.total else 1.0
        eta = elapsed * (self.total - self.done) / self.done if self.done else 0.0
        text = (f"{self.label} {draw_bar(fraction)} {self.done}/{self.total} "
                f"{elapsed:.0f} s, ETA {eta:.0f} s")
        return text[:shutil.get_terminal_size((100, 24)).columns - 1]

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
