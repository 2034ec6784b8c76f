"""Old path, kept so existing imports work; the code lives in nnpy.digits.reader."""
from ..digits.reader import DigitReader, predict_files, public

__all__ = ["DigitReader", "predict_files", "public"]
