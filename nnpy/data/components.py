"""Old path, kept so existing imports work; the code lives in nnpy.digits.components."""
from ..digits.components import boxes, label

__all__ = ["boxes", "label"]
