"""Safe, strict YAML reading and writing that remembers where every key was written.

``load_yaml(path)`` returns the data and a ``Locator``: for each key path (a tuple such as
``("optimizer", "lr")`` or ``("model", "layers", 0)``) the ``file:line`` that defined it, so a
later error can say ``configs/x.yaml:12: optimizer.lr: …``.

What is read, and how (YAML 1.2 core schema rather than PyYAML's YAML 1.1 defaults)::

    null    ~  null  Null  NULL  (empty)
    bool    true  True  TRUE  false  False  FALSE      -- yes/no/on/off stay strings
    int     12  -3  1_000  0x1F  0o17  0b101           -- 012 is 12, 1:30 is a string
    float   0.5  1e-3  -2.5E+4  .inf  -.inf  .nan      -- 1e-3 is a float, not a string
    str     anything else, or anything quoted
    list / mapping, anchors & aliases, and ``<<`` merge keys

Any other tag (``!!python/object``, ``!!binary``, ``!!timestamp``, ``!custom``) is refused.
Refused as well: duplicate keys, non-scalar keys, files over ``MAX_BYTES``, nesting deeper than
``MAX_DEPTH`` and documents of more than ``MAX_NODES`` nodes once aliases are expanded (so a
"billion laughs" alias bomb costs milliseconds, not gigabytes). Every failure is a one-line
``ConfigError`` naming the file, and the line when it is known.
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterator, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError

MAX_BYTES = 1 << 20      # a config file larger than 1 MiB is refused
MAX_NODES = 100_000      # nodes per document, counted after alias expansion
MAX_DEPTH = 64           # nesting depth of lists and mappings

_Y = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR = (_Y + t for t in ("null", "bool", "int", "float", "str"))
SEQ, MAP, MERGE = _Y + "seq", _Y + "map", _Y + "merge"

# (tag, regexp, first characters) -- YAML 1.2 core schema, plus '<<' merge keys
_RESOLVERS = [
    (BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (INT, r"^[-+]?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$", list("-+0123456789")),
    (FLOAT, r"^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+0123456789.")),
    (NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (MERGE, r"^<<$", ["<"]),
]


# ---- where keys come from ---------------------------------------------------------------

def format_keypath(keypath) -> str:
    """``("model", "layers", 0, "units")`` -> ``model.layers[0].units``."""
    out = ""
    for part in keypath:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = str(part)
            if not re.fullmatch(r"[\w\-]+", text):
                text = short_repr(text)
            out += ("." if out else "") + text
    return out


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (always one line)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Locator:
    """Where each key of a config was defined: key path -> ``"file:line"`` or ``"--set k=v"``.

    ``where(keypath)`` falls back to the nearest recorded parent, then to the file itself.
    """

    def __init__(self, file: str, entries: dict | None = None):
        self.file = file
        self.entries: dict[tuple, str] = dict(entries or {})

    def set(self, keypath, where: str) -> None:
        self.entries[tuple(keypath)] = where

    def get(self, keypath) -> str | None:
        """The exact entry for ``keypath``, or ``None``."""
        return self.entries.get(tuple(keypath))

    def where(self, keypath=()) -> str:
        keypath = tuple(keypath)
        while keypath:
            if keypath in self.entries:
                return self.entries[keypath]
            keypath = keypath[:-1]
        return self.file

    def file_of(self, keypath) -> str | None:
        """The config file that gave ``keypath`` its value (as ``where`` finds it), or None for
        a ``--set`` value."""
        where = self.where(keypath)
        if where.startswith("--set "):
            return None
        file, _, line = where.rpartition(":")
        return file if file and line.isdigit() else where

    def drop(self, keypath) -> None:
        """Forget ``keypath`` and everything below it (its value was replaced)."""
        keypath = tuple(keypath)
        n = len(keypath)
        for kp in [kp for kp in self.entries if kp[:n] == keypath]:
            del self.entries[kp]

    def error(self, keypath, message: str) -> ConfigError:
        """A ``ConfigError`` reading ``file:line: key.path: message``."""
        name = format_keypath(keypath)
        text = f"{self.where(keypath)}: {name + ': ' if name else ''}{message}"
        return ConfigError(" ".join(text.split("\n")))

    def __repr__(self) -> str:
        return f"Locator({self.file!r}, {len(self.entries)} keys)"


def keypaths(value, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path inside ``value`` (mapping keys and list indices), parents first."""
    stack = [(prefix, value)]
    while stack:
        path, val = stack.pop()
        if isinstance(val, dict):
            items = list(val.items())
        elif isinstance(val, list):
            items = list(enumerate(val))
        else:
            continue
        for key, sub in reversed(items):
            yield path + (key,)
            stack.append((path + (key,), sub))


def depth(value) -> int:
    """Nesting depth of lists and mappings (a scalar is 0)."""
    best, stack = 0, [(value, 0)]
    while stack:
        val, d = stack.pop()
        if isinstance(val, (dict, list)):
            d += 1
            best = max(best, d)
            stack.extend((v, d) for v in (val.values() if isinstance(val, dict) else val))
    return best


# ---- reading ----------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer with our resolvers and limits on nesting and node count.

    Only ``compose`` is used from it: the node tree is turned into Python values by
    ``_Converter`` below, never by PyYAML's constructors.
    """

    yaml_implicit_resolvers: dict = {}

    def __init__(self, text: str, name: str, lines: bool):
        super().__init__(text)
        self.source, self.lines = name, lines
        self._depth = self._count = 0

    def compose_node(self, parent, index):
        self._count += 1
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH or self._count > MAX_NODES:
                mark = self.peek_event().start_mark
                what = (f"nested deeper than {MAX_DEPTH} levels" if self._depth > MAX_DEPTH
                        else f"more than {MAX_NODES} nodes")
                raise ConfigError(f"{_at(self.source, mark, self.lines)}: document is {what}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


for _tag, _regexp, _first in _RESOLVERS:
    _Loader.add_implicit_resolver(_tag, re.compile(_regexp), _first)


def _at(name: str, mark, lines: bool = True) -> str:
    return f"{name}:{mark.line + 1}" if lines and mark is not None else name


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


class _Converter:
    """Turns a composed node tree into dicts/lists/scalars, recording each key's line.

    Aliases are expanded into fresh copies (so later merging and overriding can mutate
    freely); the expansion is counted against ``MAX_NODES`` and ``MAX_DEPTH``.
    """

    def __init__(self, name: str, locator: Locator, lines: bool = True):
        self.name, self.locator, self.lines = name, locator, lines
        self.count = 0
        self.active: set[int] = set()   # ids of nodes being converted: an alias cycle revisits one

    def fail(self, node: Node, message: str) -> NoReturn:
        raise ConfigError(f"{_at(self.name, node.start_mark, self.lines)}: {message}")

    def convert(self, node: Node, keypath: tuple = (), level: int = 0):
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(node, f"document has more than {MAX_NODES} nodes once aliases are "
                            "expanded (alias bomb?)")
        if level > MAX_DEPTH:
            self.fail(node, f"document is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if id(node) in self.active:
            self.fail(node, "an alias refers to a list or mapping that contains it")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == SEQ:
                return self.sequence(node, keypath, level)
            if isinstance(node, MappingNode) and node.tag == MAP:
                return self.mapping(node, keypath, level)
            self.fail(node, f"unsupported YAML tag '{_tag_name(node.tag)}'")
        finally:
            self.active.discard(id(node))

    def record(self, keypath: tuple, node: Node) -> None:
        self.locator.set(keypath, _at(self.name, node.start_mark, self.lines))

    def sequence(self, node: SequenceNode, keypath: tuple, level: int) -> list:
        out = []
        for i, item in enumerate(node.value):
            self.record(keypath + (i,), item)
            out.append(self.convert(item, keypath + (i,), level + 1))
        return out

    def mapping(self, node: MappingNode, keypath: tuple, level: int) -> dict:
        merged: dict = {}
        sources = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE and isinstance(key_node, ScalarNode):
                items = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in items:
                    if not isinstance(src, MappingNode):
                        self.fail(src, "a '<<' merge key needs a mapping or a list of mappings")
                    sources.append(src)
        for src in reversed(sources):   # the first source listed wins
            merged.update(self.convert(src, keypath, level + 1))
        out: dict = {}
        lines: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE and isinstance(key_node, ScalarNode):
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, "a mapping key must be a plain value, not a list or mapping")
            key = self.scalar(key_node)
            if key in lines:
                self.fail(key_node, f"duplicate key {short_repr(key)} (first defined on line "
                                    f"{lines[key]})")
            lines[key] = key_node.start_mark.line + 1
            self.record(keypath + (key,), key_node)
            out[key] = self.convert(value_node, keypath + (key,), level + 1)
        for key, value in merged.items():
            out.setdefault(key, value)
        return out

    def scalar(self, node: ScalarNode):
        tag, text = node.tag, node.value
        if tag == STR:
            return text
        if tag == NULL and text in ("", "~", "null", "Null", "NULL"):
            return None
        if tag == BOOL and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if tag == INT:
            return self.integer(node, text)
        if tag == FLOAT:
            return self.real(node, text)
        if tag in (NULL, BOOL):
            self.fail(node, f"{short_repr(text)} is not a valid {_tag_name(tag)}")
        self.fail(node, f"unsupported YAML tag '{_tag_name(tag)}'")

    def integer(self, node: ScalarNode, text: str) -> int:
        digits = text.replace("_", "")
        sign = -1 if digits.startswith("-") else 1
        digits = digits.lstrip("+-")
        bases = {"0x": 16, "0o": 8, "0b": 2}
        try:
            if len(digits) > 4000:
                raise ValueError("too many digits")
            if digits[:2].lower() in bases:
                return sign * int(digits[2:], bases[digits[:2].lower()])
            return sign * int(digits, 10)
        except ValueError:
            self.fail(node, f"{short_repr(text)} is not a valid integer (or has more than 4000 "
                            "digits)")

    def real(self, node: ScalarNode, text: str) -> float:
        low = text.replace("_", "").lower()
        if low in (".inf", "+.inf", "-.inf", ".nan"):
            return {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}.get(
                low, float("nan"))
        try:
            if len(low) > 4000:
                raise ValueError("too long")
            return float(low)
        except ValueError:
            self.fail(node, f"{short_repr(text)} is not a valid float")


def _yaml_error(name: str, exc: yaml.YAMLError, lines: bool) -> ConfigError:
    """One line out of PyYAML's multi-line messages."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if not problem:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConfigError(f"{_at(name, mark, lines)}: invalid YAML: {' '.join(problem.split())}")


def parse_yaml(text: str, name: str, lines: bool = True,
               locator: Locator | None = None, keypath: tuple = ()) -> tuple[Any, Locator]:
    """Parse one YAML document from ``text``; ``name`` is what error messages call it.

    With ``lines=False`` (overrides) errors and provenance name ``name`` without a line.
    Key paths are recorded below ``keypath`` in ``locator`` (a new one by default).
    """
    locator = locator if locator is not None else Locator(name)
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_BYTES} bytes")
    loader = None
    try:
        loader = _Loader(text, name, lines)
        node = loader.get_single_node()
        value = None if node is None else _Converter(name, locator, lines).convert(node, keypath)
    except yaml.reader.ReaderError as exc:   # a control character: no mark, only a position
        where = f"{name}:{text.count(chr(10), 0, exc.position) + 1}" if lines else name
        raise ConfigError(f"{where}: invalid YAML: character #x{exc.character:04x} is not "
                          "allowed") from None
    except yaml.YAMLError as exc:
        raise _yaml_error(name, exc, lines) from None
    finally:
        if loader is not None:
            loader.dispose()
    return value, locator


def read_text(path) -> str:
    """The UTF-8 text of a config file, refusing missing, unreadable and oversized files."""
    name = os.fspath(path)
    try:
        if not os.path.isfile(name):
            raise ConfigError(f"{name}: config file not found" if not os.path.exists(name)
                              else f"{name}: not a regular file")
        with open(name, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read config file ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{name}: config file is larger than {MAX_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{name}:{line}: not valid UTF-8 text (byte {exc.start})") from None


def load_yaml(path) -> tuple[dict, Locator]:
    """Read one YAML config file (no ``_base_`` handling): ``(data, locator)``.

    The top level must be a mapping.
    """
    name = os.fspath(path)
    data, locator = parse_yaml(read_text(name), name)
    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{name}: the top level of a config must be a mapping, not {got}")
    return data, locator


# ---- writing ----------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Quotes any string that YAML 1.1 *or* our reader would take for something else."""

    yaml_implicit_resolvers: dict = {}

    def ignore_aliases(self, data) -> bool:   # never write anchors for shared objects
        return True


for _first_char, _entries in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
    for _tag, _regexp in _entries:
        _Dumper.add_implicit_resolver(_tag, _regexp, [_first_char])
for _tag, _regexp, _first in _RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, re.compile(_regexp), _first)
_Dumper.add_representer(tuple, yaml.representer.SafeRepresenter.represent_list)
_LINE_BREAKS = re.compile("[\x85\u2028\u2029\ufeff]")


def _represent_str(dumper, text: str):
    # PyYAML would write these Unicode line breaks unquoted, and read them back as breaks
    style = '"' if _LINE_BREAKS.search(text) else None
    return dumper.represent_scalar(STR, text, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(cfg) -> str:
    """YAML text for ``cfg`` (keys in insertion order) that ``load_yaml`` reads back equal."""
    try:
        return yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=100)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot write the config as YAML: {' '.join(str(exc).split())}") \
            from None
