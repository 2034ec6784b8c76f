"""A small declarative schema for configs, and the validator that fills in defaults.

::

    SCHEMA = Section({
        "train": Section({
            "epochs": Field(int, default=10, check=lambda n: n > 0 or "must be positive"),
            "device": Field(str, default="cpu", choices=["cpu"]),
        }),
        "optimizer": Section({"type": Field(str, required=True)}, open=True),
        "model": Section({"hidden": Field(list, item=int, default=[128])}),
    })
    cfg = apply_schema(data, SCHEMA, locator)

Rules: unknown keys of a closed ``Section`` are errors (with a near-miss suggestion); an
*open* section accepts any further key (for registry-backed sections, whose valid keys depend
on the chosen ``type`` and are checked later with ``Registry.check_options``). ``bool`` is not
an ``int``; an ``int`` is accepted (and converted) where a ``float`` is expected; ``None``
(YAML ``null``) only where the field allows it. Every error names ``file:line`` and the key.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field as _dc_field
from typing import Any, Callable

from ..errors import ConfigError
from ..registry import did_you_mean
from .yamlfile import Locator, format_keypath, short_repr

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string",
               bool: "a boolean (true or false)", list: "a list", dict: "a mapping"}


def _type_name(types: tuple) -> str:
    return " or ".join(_TYPE_NAMES.get(t, f"a {getattr(t, '__name__', t)}") for t in types)


def _is(value, t) -> bool:
    if t is object:
        return True
    if isinstance(value, bool):
        return t is bool
    if t is float:
        return isinstance(value, (int, float))
    return isinstance(value, t)


def _got(value) -> str:
    return "null" if value is None else f"{short_repr(value)} ({type(value).__name__})"


@dataclass
class Field:
    """One key: its type(s), default, and optional choices / check.

    ``type``      a type or tuple of types (``int``, ``float``, ``str``, ``bool``, ``list``,
                  ``dict``; ``object`` for anything)
    ``default``   filled in when the key is absent (deep-copied)
    ``required``  absent -> error
    ``nullable``  ``None`` is a valid value; by default only for optional fields whose default
                  is ``None``
    ``choices``   the value must be one of them
    ``check``     ``check(value)`` returns ``True``/``None`` when fine, ``False`` or a message
                  string when not (or raises ``ValueError``/``TypeError`` with a message)
    ``item``      for lists: the type, ``Field`` or ``Section`` every element must satisfy
    """

    type: Any = object
    default: Any = None
    required: bool = False
    nullable: bool | None = None
    choices: Any = None
    check: Callable | None = None
    item: Any = None
    doc: str = ""

    def allows_none(self) -> bool:
        if self.nullable is not None:
            return self.nullable
        return self.default is None and not self.required

    def missing(self, keypath: tuple, locator: Locator):
        if self.required:
            raise locator.error(keypath[:-1], f"missing required key '{keypath[-1]}'")
        return copy.deepcopy(self.default)

    def validate(self, value, keypath: tuple, locator: Locator):
        if value is None:
            if self.allows_none():
                return None
            raise locator.error(keypath, f"expected {_type_name(self._types())}, got null")
        types = self._types()
        if not any(_is(value, t) for t in types):
            raise locator.error(keypath, f"expected {_type_name(types)}, got {_got(value)}")
        if float in types and not any(t is not float and _is(value, t) for t in types) \
                and not isinstance(value, float):
            try:
                value = float(value)
            except OverflowError:
                raise locator.error(keypath, f"{short_repr(value)} is too large for a "
                                             "float") from None
        if self.choices is not None and value not in list(self.choices):
            hint = did_you_mean(value, [str(c) for c in self.choices]) \
                if isinstance(value, str) else ""
            raise locator.error(keypath, f"{short_repr(value)} is not one of: "
                                         f"{', '.join(str(c) for c in self.choices)}{hint}")
        if self.item is not None and isinstance(value, list):
            schema = _as_schema(self.item)
            value = [schema.validate(v, keypath + (i,), locator) for i, v in enumerate(value)]
        if self.check is not None:
            try:
                verdict = self.check(value)
            except (ValueError, TypeError) as exc:
                verdict = str(exc) or False
            if verdict is False or isinstance(verdict, str):
                reason = verdict if isinstance(verdict, str) else "invalid value"
                raise locator.error(keypath, f"{reason} (got {short_repr(value)})")
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value

    def _types(self) -> tuple:
        return self.type if isinstance(self.type, tuple) else (self.type,)


@dataclass
class Section:
    """A mapping of named ``Field``s and nested ``Section``s.

    ``open``      accept keys that are not declared (copied as they are)
    ``required``  the section must be present
    ``nullable``  ``None`` (or absence) is kept as ``None`` instead of filling defaults --
                  for optional parts such as a scheduler
    """

    fields: dict = _dc_field(default_factory=dict)
    open: bool = False
    required: bool = False
    nullable: bool = False
    doc: str = ""

    def missing(self, keypath: tuple, locator: Locator):
        if self.required:
            parent = keypath[:-1]
            raise locator.error(parent, f"missing required key '{keypath[-1]}'")
        return None if self.nullable else self.validate({}, keypath, locator)

    def validate(self, value, keypath: tuple, locator: Locator):
        if value is None:
            if self.nullable:
                return None
            value = {}
        if not isinstance(value, dict):
            raise locator.error(keypath, f"expected a mapping, got {_got(value)}")
        names = list(self.fields)
        if not self.open:
            for key in value:
                if key not in self.fields:
                    # the message leads with the section, not the unknown key itself
                    raise ConfigError(
                        f"{locator.where(keypath + (key,))}: "
                        f"{format_keypath(keypath) + ': ' if keypath else ''}"
                        f"unknown key {short_repr(key)}{did_you_mean(str(key), names)}; "
                        f"valid keys: {', '.join(names) or '(none)'}")
        out = {}
        for name, schema in self.fields.items():
            if name in value:
                out[name] = schema.validate(value[name], keypath + (name,), locator)
            else:
                out[name] = schema.missing(keypath + (name,), locator)
        for key, val in value.items():
            if key not in self.fields:
                out[key] = copy.deepcopy(val)
        return out


def _as_schema(item):
    """``int`` or ``(int, float)`` -> ``Field(int)`` (items may not be null); else as is."""
    if isinstance(item, (Field, Section)):
        return item
    return Field(item, nullable=False)


def apply_schema(cfg: dict, schema: Section, locator: Locator | None = None) -> dict:
    """Check ``cfg`` against ``schema``; return a new dict with defaults filled in.

    Raises ``ConfigError`` (``file:line: key.path: what is wrong``) on the first problem.
    """
    locator = locator if locator is not None else Locator("<config>")
    return schema.validate(cfg, (), locator)
