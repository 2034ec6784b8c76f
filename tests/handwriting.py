"""The project's own generator of hand-written-style digits (tools/make_handwritten.py),
importable from the tests: rows of digits for ``--multi`` are made on the fly."""
import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_handwritten",
                                               REPO / "tools" / "make_handwritten.py")
make_handwritten = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_handwritten)


def row_image(i: int, seed: int = 7):
    """Row ``i``: (PIL image, its digits as a string); 3-12 digits, every third row with a
    touching pair."""
    rng = np.random.default_rng([seed, i])
    digits = rng.integers(0, 10, int(rng.integers(3, 13)))
    image = make_handwritten.render_row(digits, rng, touching=int(i % 3 == 0))
    return image, "".join(map(str, digits))
