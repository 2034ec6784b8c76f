"""Everything nnpy reads from or writes to disk.

* ``yamlfile``   -- safe, strict YAML reading (with file:line provenance) and writing: the one
  YAML path of nnpy (configs, a run's ``config.yaml``, ``nnpy plot`` reading it back).
* ``configfile`` -- config files: ``_base_`` inheritance and ``--set`` overrides.
* ``schema``     -- a small declarative schema (``Section``, ``Field``) and ``apply_schema``.
* ``checkpoint`` -- the one serializer: checksummed JSON with base64 numpy arrays, written
  atomically, verified on load. No pickle anywhere.
"""
from .checkpoint import dumps_checkpoint, load_checkpoint, loads_checkpoint, save_checkpoint
from .configfile import apply_overrides, load_config, merge
from .schema import Field, Section, apply_schema
from .yamlfile import Locator, dump_yaml, load_yaml

__all__ = ["Field", "Locator", "Section", "apply_overrides", "apply_schema", "dump_yaml",
           "dumps_checkpoint", "load_checkpoint", "load_config", "load_yaml", "loads_checkpoint",
           "merge", "save_checkpoint"]
