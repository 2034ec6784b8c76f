"""The digit reader: photos and drawings of hand-written digits read by a trained model
(``nnpy demo``, ``nnpy serve``, ``nnpy demo --explain``).

    photo ─▶ grey levels ─▶ flatten the paper's light, Otsu threshold ─▶ ink mask
          ─▶ 8-connected components: the digit (or, with --multi, a row of them)
          ─▶ touching digits cut along least-ink paths
          ─▶ each digit 28×28 as MNIST made them (20 px, centred by its centre of mass)
          ─▶ the model's class probabilities

    preprocess.py  one image → one MNIST digit, in stages one can look at (to_mnist, digit_stages)
    components.py  connected components of a binary image (a vectorised union-find)
    segment.py     a row of digits → one MNIST digit each, cut where the model reads best
    cutpaths.py    the least-ink paths that cut touching digits apart
    reader.py      DigitReader: a checkpoint reading image files; predict_files (nnpy demo)
    explain.py     nnpy demo --explain: one picture per input of how its reading came about
    server.py      nnpy serve: the HTTP server and its JSON API; static/ its page

Images are read by ``nnpy.data.images`` (grey levels of any file, untrusted); the model and
its checkpoint by ``nnpy.engine``. Importing this package loads the preprocessing only.
"""
from .preprocess import DigitStages, NoInkError, digit_stages, load_digit, to_mnist
from .segment import RowStages, segment_row

__all__ = ["DigitStages", "NoInkError", "RowStages", "digit_stages", "load_digit", "segment_row", "to_mnist"]
