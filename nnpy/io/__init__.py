"""Everything nnpy reads from or writes to disk.

* ``config``     -- YAML configs: safe loading with file:line provenance, ``_base_``
  inheritance, ``--set`` overrides, a declarative schema and validator, dumping.
* ``checkpoint`` -- the one serializer: checksummed JSON with base64 numpy arrays, written
  atomically, verified on load. No pickle anywhere.
"""
from .checkpoint import dumps_checkpoint, load_checkpoint, loads_checkpoint, save_checkpoint
from .config import (Field, Locator, Section, apply_overrides, config_error, dump_yaml,
                     load_config, load_yaml, merge, validate)

__all__ = ["Field", "Locator", "Section", "apply_overrides", "config_error", "dump_yaml",
           "dumps_checkpoint", "load_checkpoint", "load_config", "load_yaml", "loads_checkpoint",
           "merge", "save_checkpoint", "validate"]
