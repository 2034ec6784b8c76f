"""The old path of ``nnpy.engine.checkpoint_content`` (what a checkpoint holds), kept for users."""
from .checkpoint_content import load, load_weights, plan_from_checkpoint, stats_of, write_inference_copy  # noqa: F401
