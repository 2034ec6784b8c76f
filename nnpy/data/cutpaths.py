"""Old path, kept so existing imports work; the code lives in nnpy.digits.cutpaths."""
from ..digits.cutpaths import contour_valleys, descend, ink_between, read_paths

__all__ = ["contour_valleys", "descend", "ink_between", "read_paths"]
