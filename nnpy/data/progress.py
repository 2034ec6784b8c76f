"""A progress line for slow data preparation (decoding a folder of images).

Drawn on stderr only when it is a terminal, redrawn at most ten times a second, and erased
when done; a log or a pipe sees nothing of it.
"""
from __future__ import annotations

import shutil
import sys
import time

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


class Progress:
    """``with Progress(total, "decoding shapes/") as bar: … bar.advance()`` — one line
    ``decoding shapes/ [#####-----] 120/900 3 s, ETA 19 s``."""

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
        filled = int(BAR_WIDTH * fraction)
        eta = elapsed * (self.total - self.done) / self.done if self.done else 0.0
        text = (f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total} "
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
