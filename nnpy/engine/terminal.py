"""Text that fits the terminal: lines wrapped between fields, a progress line that never wraps.

A *field* is one piece of a status line (``loss 0.1234``, ``lr 0.05``, ``12.3 s``); lines of
fields are joined by two spaces and, when too wide, broken only between fields. Output that is
not a terminal (a log file, a pipe) is never wrapped.
"""
from __future__ import annotations

import os
import textwrap

SEP = "  "
INDENT = "    "


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
                filled = int(bar_width * bar_fraction)
                shown["bar"] = "[" + "#" * filled + "-" * (bar_width - filled) + "]"
            line = " ".join(shown.values())
            if len(line) <= limit:
                return line
    return line[:limit]
