"""Old path, kept so existing imports work; the code lives in nnpy.digits.preprocess."""
from ..digits.preprocess import (BACKGROUND_SIZE, MEDIAN_MIN_SIDE, MIN_CONTRAST, NOISE_FLOOR,
                                 PIECE_MASS, PIECE_REACH, POLARITY_SIZE, WORK_SIZE, DigitStages,
                                 NoInkError, centre_mnist, digit_stages, estimate_background,
                                 flatten, ink_stages, ink_threshold, otsu_threshold, select_digit,
                                 soft_ink, stroke_width, to_mnist, work_image)

__all__ = ["BACKGROUND_SIZE", "DigitStages", "MEDIAN_MIN_SIDE", "MIN_CONTRAST", "NOISE_FLOOR",
           "NoInkError", "PIECE_MASS", "PIECE_REACH", "POLARITY_SIZE", "WORK_SIZE", "centre_mnist",
           "digit_stages", "estimate_background", "flatten", "ink_stages", "ink_threshold",
           "otsu_threshold", "select_digit", "soft_ink", "stroke_width", "to_mnist", "work_image"]
