"""Old path, kept so existing imports work; the code lives in nnpy.engine.parallel.batch_part."""
from ..engine.parallel.batch_part import BatchPart, PartGenerator

__all__ = ["BatchPart", "PartGenerator"]
