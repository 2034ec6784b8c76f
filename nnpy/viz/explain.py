"""Old path, kept so existing imports work; the code lives in nnpy.digits.explain."""
from ..digits.explain import (DISPLAY_SIDE, MAX_BARS, digit_figure, explain_results, image_figure,
                              output_names, row_figure)

__all__ = ["DISPLAY_SIDE", "MAX_BARS", "digit_figure", "explain_results", "image_figure",
           "output_names", "row_figure"]
