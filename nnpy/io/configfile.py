"""Config files: YAML with ``_base_`` inheritance and ``--set`` overrides, checked by a schema.

The pipeline, each step usable on its own::

    data, loc = load_config("configs/mlp.yaml")                    # file + its _base_ chain
    data = apply_overrides(data, ["optimizer.lr=0.01"], loc)       # --set key.path=value
    cfg = apply_schema(data, SCHEMA, loc)                          # unknown keys, types, defaults
    print(dump_yaml(cfg))                                           # --print-config

or in one call: ``cfg, loc = load_config(path, overrides, SCHEMA)``. Later semantic checks
(registry names, shapes) point at the right line with ``loc.error(keypath, message)``.

Inheritance: ``_base_: base.yaml`` (or a list of files, later ones winning) names files
relative to the including file; they are loaded first, recursively, and the including file is
merged on top: mappings merge key by key (the child wins), anything else -- lists included --
is replaced. A mapping holding ``_delete_: true`` replaces the inherited mapping instead of
merging into it, and so does one that changes the inherited ``type`` (or ``symbol``): the old
type's options are dropped (``--set optimizer.type=adam`` drops them too, keeping only keys
given with ``--set``). The locator keeps, for every key, the file and line its value came from, or
``--set key=value`` for overridden keys. All mistakes raise ``ConfigError`` naming file:line.
"""
from __future__ import annotations

import copy
import os
from typing import Iterable

from ..errors import ConfigError
from ..registry import same_name
from .schema import Field, Section, apply_schema
from .yamlfile import (MAX_DEPTH, Locator, depth, dump_yaml, format_keypath, keypaths, load_yaml,
                       parse_yaml)

__all__ = ["load_yaml", "load_config", "merge", "apply_overrides", "apply_schema", "Field",
           "Section", "Locator", "dump_yaml", "format_keypath"]

MAX_BASES = 32   # files in one inheritance tree
TYPE_KEYS = ("type", "symbol")   # the key that picks what a mapping's other keys are options of
_MISSING = object()


# ---- merging ----------------------------------------------------------------------------

def _merge(base, child, keypath: tuple, locator: Locator):
    """``child`` merged onto ``base`` (a new object; neither input is modified)."""
    if isinstance(child, dict):
        delete = child.get("_delete_", False)
        if not isinstance(delete, bool):
            raise locator.error(keypath + ("_delete_",), f"must be true or false, got {delete!r}")
        out = dict(base) if isinstance(base, dict) and not delete and not _changes_type(base, child) else {}
        for key, value in child.items():
            if key != "_delete_":
                out[key] = _merge(out.get(key, _MISSING), value, keypath + (key,), locator)
        return out
    if isinstance(child, list):
        return [_merge(_MISSING, v, keypath + (i,), locator) for i, v in enumerate(child)]
    return child


def _changes_type(base: dict, child: dict) -> bool:
    """Whether ``child`` names another type (or symbol) than ``base``: then the base's options,
    which belong to its type, are dropped rather than merged."""
    return any(key in base and key in child and not same_name(base[key], child[key]) for key in TYPE_KEYS)


def merge(base: dict, base_loc: Locator, child: dict, child_loc: Locator) -> tuple[dict, Locator]:
    """Deep-merge ``child`` onto ``base``; the result's locator takes each key from whichever
    side its value came from."""
    data = _merge(base, child, (), child_loc)
    loc = Locator(child_loc.file)
    for kp in keypaths(data):
        where = child_loc.get(kp) or base_loc.get(kp)
        if where is not None:
            loc.set(kp, where)
    return data, loc


# ---- inheritance ------------------------------------------------------------------------

def load_config(path, overrides: Iterable[str] = (),
                schema: Section | None = None) -> tuple[dict, Locator]:
    """Load ``path`` with its ``_base_`` files merged, apply ``overrides``, and check
    against ``schema`` when one is given: ``(config, locator)``."""
    data, locator = _load(os.fspath(path), (), {})
    if overrides:
        data = apply_overrides(data, overrides, locator)
    if schema is not None:
        data = apply_schema(data, schema, locator)
    return data, locator


def _load(name: str, chain: tuple, done: dict) -> tuple[dict, Locator]:
    real = os.path.realpath(name)
    if real in done:
        data, loc = done[real]
        return copy.deepcopy(data), Locator(loc.file, loc.entries)
    if len(done) + len(chain) >= MAX_BASES:
        raise ConfigError(f"{name}: more than {MAX_BASES} files in the _base_ tree")
    data, loc = load_yaml(name)
    bases = data.pop("_base_", None)
    if bases is None:
        bases = []
    elif isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise loc.error(("_base_",), f"expected a file name or a list of file names, "
                                     f"got {bases!r:.60}")
    merged, merged_loc = {}, Locator(name)
    for i, base in enumerate(bases):
        base_name = os.path.normpath(os.path.join(os.path.dirname(name), base))
        key = ("_base_",) if len(bases) == 1 or loc.get(("_base_", i)) is None else ("_base_", i)
        if os.path.realpath(base_name) in chain + (real,):
            cycle = " -> ".join([*(os.path.basename(c) for c in chain + (real,)),
                                 os.path.basename(base_name)])
            raise loc.error(key, f"inheritance cycle: {cycle}")
        if not os.path.isfile(base_name):
            raise loc.error(key, f"base file {base!r} not found (looked for {base_name})")
        base_data, base_loc = _load(base_name, chain + (real,), done)
        merged, merged_loc = merge(merged, merged_loc, base_data, base_loc)
    data, loc = merge(merged, merged_loc, data, loc)
    loc.file = name
    done[real] = (copy.deepcopy(data), Locator(loc.file, loc.entries))
    return data, loc


# ---- overrides --------------------------------------------------------------------------

def apply_overrides(cfg: dict, overrides: Iterable[str],
                    locator: Locator | None = None) -> dict:
    """Apply ``--set`` overrides such as ``"optimizer.lr=0.01"`` or ``"model.hidden=[256,128]"``.

    The value is read as YAML (``3`` an int, ``[1, 2]`` a list, ``null`` None). Missing
    mappings on the way are created -- unknown keys are left for ``apply_schema`` to report;
    a number in the key path indexes a list (``model.layers.0.units=64``). Returns a new
    dict; ``locator`` (when given) records ``--set key=value`` for every overridden key.
    """
    cfg = copy.deepcopy(cfg)
    for item in [overrides] if isinstance(overrides, str) else overrides:
        source = _source(item)
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"{source}: an override must look like key.path=value "
                              "(no '=' found)")
        key, _, text = item.partition("=")
        parts = [p.strip() for p in key.split(".")]
        if not all(parts):
            raise ConfigError(f"{source}: the key {key.strip()!r} has an empty part")
        value, _ = parse_yaml(text, source, lines=False)
        if len(parts) + depth(value) > MAX_DEPTH:
            raise ConfigError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        old = _get(cfg, parts)
        path = _set(cfg, parts, value, source)
        if parts[-1] in TYPE_KEYS and old is not _MISSING and not same_name(old, value):
            _drop_options(cfg, path[:-1], path[-1], locator)
        if locator is not None:
            locator.drop(path)
            locator.set(path, source)
            for kp in keypaths(value, path):
                locator.set(kp, source)
    return cfg


def _get(cfg: dict, parts: list[str]):
    """The value at ``parts`` in mappings (``_MISSING`` when there is none)."""
    node = cfg
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _drop_options(cfg: dict, parent: tuple, type_key: str, locator: Locator | None) -> None:
    """After ``--set <parent>.type=<new type>``: remove the old type's options from the mapping
    at ``parent``, keeping the type and any key an earlier ``--set`` gave."""
    node = cfg
    for part in parent:
        node = node[part]
    for key in [k for k in node if k != type_key]:
        where = locator.get(parent + (key,)) if locator is not None else None
        if not (where or "").startswith("--set "):
            del node[key]
            if locator is not None:
                locator.drop(parent + (key,))


def _set(cfg: dict, parts: list[str], value, source: str) -> tuple:
    """``cfg[parts[0]][parts[1]]… = value`` (mappings created on the way, numbers index lists);
    returns the key path that was set."""
    node, path = cfg, ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, dict):
            if last:
                node[part] = value
                return path + (part,)
            if node.get(part) is None:
                node[part] = {}
            node, path = node[part], path + (part,)
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{source}: {format_keypath(path)} is a list of "
                                  f"{len(node)} items; {part!r} is not an index in it")
            if last:
                node[int(part)] = value
                return path + (int(part),)
            node, path = node[int(part)], path + (int(part),)
        else:
            raise ConfigError(f"{source}: cannot set {part!r} inside {format_keypath(path)},"
                              f" which is {type(node).__name__} {node!r:.40}")
    return path


def _source(item) -> str:
    """How an override is named in messages and provenance: ``--set key=value`` (one line)."""
    text = str(item).replace("\n", "\\n")
    return "--set " + (text if len(text) <= 200 else text[:197] + "...")
