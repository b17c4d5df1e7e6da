"""Safe YAML parsing with source positions: bytes of one file -> plain data + file:line:column.

Parsing uses libyaml's C event parser (``yaml.cyaml.CParser``) and builds values in one
iterative Python walk (no recursion, so deep input can never raise ``RecursionError``):

* Scalars resolve per the **YAML 1.2 core schema**: only ``true``/``True``/``TRUE`` and
  ``false``/``False``/``FALSE`` are booleans; ``null``/``Null``/``NULL``/``~``/empty are null;
  integers are decimal (``[-+]?[0-9]+``), ``0o`` octal or ``0x`` hex; floats per 1.2 (including
  ``.inf``/``.nan``). Everything else -- ``on``, ``off``, ``yes``, ``no``, ``y``, ``n``, dates,
  timestamps, ``1_000``, ``0b101`` -- stays a **string**. Quoted and block scalars are strings.
* Mapping keys are strings: a scalar key is kept as written (``200: ok`` has key ``"200"``);
  a mapping or sequence used as a key is an error.
* Explicit tags: ``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``, ``!!seq``
  and the non-specific ``!`` are honoured; any other tag (``!!python/...``, ``!Ref``,
  ``!!binary``, ``!!timestamp``...) is an error, never executed.
* Anchors and aliases work; an alias is expanded into a *copy* of the anchored value, so no two
  places share one object. Every node produced through alias expansion counts against
  ``Limits.max_alias_nodes`` (default 100,000), checked *before* copying: a "billion laughs"
  file fails at once. An alias to a node that contains it (a cycle) is an error.
* Merge keys (``<<: *base`` or ``<<: [*a, *b]``) are supported, as YAML 1.1 defined them:
  keys written in the mapping win over merged ones, and earlier merge sources win over later
  ones. A merged key's position is that of the ``<<`` key.
* Limits: input over ``Limits.max_bytes`` (5 MiB), content with NUL bytes (binary), content
  that is not UTF-8, and collections nested deeper than ``Limits.max_depth`` (64) are errors.

Every problem found in the file is reported in one :class:`InputError` (a syntax error, an
alias bomb or excess nesting ends the scan of that file; duplicate keys and bad tags do not).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]

from molthub_gitops.errors import InputError, Location, Problem

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "ParsedDocument",
    "PathKey",
    "check_content",
    "large_file_problem",
    "parse_yaml",
    "resolve_plain_scalar",
]

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """Guards against hostile or accidental input."""

    max_bytes: int = 5 * 1024 * 1024
    """Largest file accepted, in bytes."""
    max_depth: int = 64
    """Deepest nesting of mappings and sequences accepted."""
    max_alias_nodes: int = 100_000
    """Most nodes a file may produce through alias expansion, in total."""


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ParsedDocument:
    """One YAML document of a file: its plain value and where each part of it was written.

    ``data`` is built from dict, list, str, int, float, bool and None only. ``positions`` maps a
    path to the location of the mapping key (for a mapping entry) or of the item (for a sequence
    item); ``()`` is the document's start. ``index`` is the document's 0-based place in the file.
    """

    data: Any
    positions: dict[PathKey, Location] = field(repr=False, compare=False)
    index: int
    file: str = ""


# --------------------------------------------------------------------------- scalars

_INT_RE = re.compile(r"[-+]?[0-9]+")
_OCT_RE = re.compile(r"0o[0-7]+")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_WORDS: dict[str, Any] = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True,
    "false": False, "False": False, "FALSE": False,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}
_NUMBER_START = frozenset("0123456789+-.")
_NO_VALUE = object()


def resolve_plain_scalar(text: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema."""
    found = _WORDS.get(text, _NO_VALUE)
    if found is not _NO_VALUE:
        return found
    if text[0] not in _NUMBER_START:
        return text
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if _OCT_RE.fullmatch(text):
        return int(text[2:], 8)
    if _HEX_RE.fullmatch(text):
        return int(text[2:], 16)
    return text


_TAG = "tag:yaml.org,2002:"
_STR_TAGS = frozenset({_TAG + "str", "!"})
_MAP_TAGS = frozenset({_TAG + "map", "!"})
_SEQ_TAGS = frozenset({_TAG + "seq", "!"})


def _resolve_tagged(text: str, tag: str) -> tuple[Any, str]:
    """(value, error) of a scalar with an explicit tag; error is '' when it resolved."""
    if tag in _STR_TAGS:
        return text, ""
    name = tag[len(_TAG):] if tag.startswith(_TAG) else ""
    value = resolve_plain_scalar(text) if text else None
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "null": value is None,
    }.get(name)
    if ok is None:
        return text, f"unsupported tag {_short_tag(tag)}"
    if not ok:
        return text, f"{text!r} is not a valid !!{name}"
    if name == "float" and isinstance(value, int | float):
        value = float(value)
    return value, ""


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


# --------------------------------------------------------------------------- content checks


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def large_file_problem(file: str, size: int, limits: Limits = DEFAULT_LIMITS) -> Problem:
    """The problem of a file of ``size`` bytes, over ``limits.max_bytes``."""
    return Problem(
        "large-file",
        f"file is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes; not read",
        Location(file, 1),
        "split it into several files (documents may live anywhere in the repository), "
        "or add it to spec.exclude in molthub.yaml if it is not a molthub document",
    )


def check_content(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> Problem | None:
    """The problem that makes ``data`` unreadable as YAML text (size, binary, encoding)."""
    if len(data) > limits.max_bytes:
        return large_file_problem(file, len(data), limits)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff",):
        return Problem(
            "non-utf8", "file is encoded as UTF-16 or UTF-32", Location(file, 1),
            "save it as UTF-8",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        return Problem(
            "binary",
            "file looks binary (it contains NUL bytes), not YAML text",
            Location(file, _line_of(data, nul)),
            "remove it or rename it to an extension other than .yaml/.yml, "
            "or add it to spec.exclude in molthub.yaml",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(
            "non-utf8",
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            Location(file, line, col),
            "save the file as UTF-8",
        )
    return None


# --------------------------------------------------------------------------- the walk


class _Abort(Exception):
    """Stop scanning this file (the problem is already recorded)."""


class _Building:
    """Marker stored for an anchor whose collection is still being built."""


_BUILDING = _Building()
_MERGE_KEY = object()


def _count_nodes(value: Any, budget: int) -> int:
    """Nodes in ``value`` (collections and scalars), stopping once past ``budget``."""
    count = 0
    todo = [value]
    while todo and count <= budget:
        v = todo.pop()
        count += 1
        if isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return count


def parse_yaml(
    data: bytes, file: str, *, limits: Limits = DEFAULT_LIMITS
) -> list[ParsedDocument]:
    """Parse every document of one YAML file; raise :class:`InputError` with all problems."""
    bad = check_content(data, file, limits)
    if bad is not None:
        raise InputError([bad])
    problems: list[Problem] = []
    docs: list[ParsedDocument] = []
    parser = CParser(data)
    try:
        for doc in _walk(parser, file, limits, problems, data):
            docs.append(doc)
    except _Abort:
        pass
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, file))
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line = _line_of(data, position) if isinstance(position, int) else 0
        problems.append(
            Problem("yaml-syntax", f"YAML error: {exc}", Location(file, line),
                    "fix the YAML syntax")
        )
    finally:
        parser.dispose()
    if problems:
        raise InputError(problems)
    return docs


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = Location(file, mark.line + 1, mark.column + 1) if mark is not None else Location(file)
    if "nesting depth" in (exc.problem or ""):
        # libyaml (PyYAML >= 6.0.2) has a depth limit of its own, met while it scans ahead
        return Problem(
            "deep-nesting", "mappings and sequences are nested too deep for any YAML reader",
            where, "flatten the structure; no molthub document needs this depth")
    text = exc.problem or "invalid YAML"
    if exc.context:
        text = f"{exc.context}: {text}"
        if exc.context_mark is not None and exc.problem_mark is not None and (
            exc.context_mark.line != exc.problem_mark.line
        ):
            text += f" (the construct started at line {exc.context_mark.line + 1})"
    return Problem("yaml-syntax", f"YAML syntax error: {text}", where,
                   "fix the YAML syntax (check indentation, quotes and brackets)")


_ScalarEvent = yaml.ScalarEvent
_MappingStartEvent = yaml.MappingStartEvent
_MappingEndEvent = yaml.MappingEndEvent
_SequenceStartEvent = yaml.SequenceStartEvent
_SequenceEndEvent = yaml.SequenceEndEvent
_AliasEvent = yaml.AliasEvent
_DocumentStartEvent = yaml.DocumentStartEvent
_DocumentEndEvent = yaml.DocumentEndEvent
_StreamEndEvent = yaml.StreamEndEvent


def _walk(
    parser: CParser, file: str, limits: Limits, problems: list[Problem], data: bytes
) -> Iterator[ParsedDocument]:
    get_event = parser.get_event
    max_depth = limits.max_depth
    alias_budget = limits.max_alias_nodes
    words = _WORDS
    no_value = _NO_VALUE
    number_start = _NUMBER_START
    resolve = resolve_plain_scalar
    index = -1

    def loc(ev: Any) -> Location:
        m = ev.start_mark
        return Location(file, m.line + 1, m.column + 1)

    ev: Any
    while True:
        ev = get_event()
        cls = type(ev)
        if cls is _StreamEndEvent:
            return
        if cls is not _DocumentStartEvent:
            continue
        index += 1
        positions: dict[PathKey, Location] = {(): loc(ev)}
        anchors: dict[str, Any] = {}
        anchor_sizes: dict[str, int] = {}
        # Frame: [container, path, is_map, unused, anchor, merge sources, merge key location]
        stack: list[list[Any]] = []
        root: Any = None
        cur: Any = None
        cur_path: PathKey = ()
        is_map = False
        key: Any = None  # pending key of the current mapping (None: next scalar is a key)
        while True:
            ev = get_event()
            cls = type(ev)
            if cls is _ScalarEvent or cls is _AliasEvent:
                if cls is _ScalarEvent:
                    if is_map and key is None:
                        k = ev.value
                        if ev.tag is None and k == "<<" and ev.style == "":
                            key = _MERGE_KEY
                            stack[-1][6] = loc(ev)
                            continue
                        kpath = (*cur_path, k)
                        if k in cur:
                            first = positions[kpath]
                            problems.append(Problem(
                                "duplicate-key",
                                f"duplicate key {k!r} (first at line {first.line})",
                                loc(ev),
                                "remove one of the two entries; YAML keys must be unique",
                                (first,),
                            ))
                        positions[kpath] = loc(ev)
                        key = k
                        if ev.anchor is not None:
                            anchors[ev.anchor] = k
                        continue
                    if ev.tag is None:
                        if ev.style == "":
                            text = ev.value
                            found = words.get(text, no_value)
                            if found is not no_value:
                                value = found
                            elif text[0] in number_start:
                                value = resolve(text)
                            else:
                                value = text
                        else:
                            value = ev.value
                    else:
                        value, err = _resolve_tagged(ev.value, ev.tag)
                        if err:
                            problems.append(Problem("unsupported-tag", err, loc(ev),
                                                    "remove the tag; molthub reads plain YAML "
                                                    "data only"))
                    if ev.anchor is not None:
                        anchors[ev.anchor] = value
                else:
                    name = ev.anchor
                    target = anchors.get(name, no_value)
                    if target is no_value:
                        problems.append(Problem("yaml-syntax", f"alias *{name} names no anchor",
                                                loc(ev), f"define &{name} before using *{name}"))
                        raise _Abort
                    if target is _BUILDING:
                        problems.append(Problem(
                            "alias-bomb",
                            f"alias *{name} refers to a node that contains it (an alias cycle)",
                            loc(ev), "an alias may only refer to a finished node"))
                        raise _Abort
                    size = anchor_sizes.get(name)
                    if size is None:
                        size = _count_nodes(target, alias_budget)
                        anchor_sizes[name] = size
                    alias_budget -= size
                    if alias_budget < 0:
                        problems.append(Problem(
                            "alias-bomb",
                            f"alias expansion produces more than {limits.max_alias_nodes:,} nodes "
                            f"(at *{name}); this looks like an alias bomb (\"billion laughs\")",
                            loc(ev),
                            "expand fewer aliases, or write the values out",
                        ))
                        raise _Abort
                    value = copy.deepcopy(target) if size > 1 else target
                    if is_map and key is None:
                        if isinstance(value, str):
                            k = value
                            kpath = (*cur_path, k)
                            if k in cur:
                                problems.append(Problem(
                                    "duplicate-key",
                                    f"duplicate key {k!r} (first at line {positions[kpath].line})",
                                    loc(ev), "remove one of the two entries",
                                    (positions[kpath],)))
                            positions[kpath] = loc(ev)
                            key = k
                            continue
                        problems.append(Problem("yaml-syntax", "a mapping key must be a string",
                                                loc(ev), "use a plain string as the key"))
                        raise _Abort
                # Attach the value to the parent mapping or sequence (or make it the root).
                if is_map:
                    if key is _MERGE_KEY:
                        stack[-1][5].append((value, loc(ev)))
                    else:
                        cur[key] = value
                    key = None
                elif cur is not None:
                    positions[(*cur_path, len(cur))] = loc(ev)
                    cur.append(value)
                else:
                    root = value
                continue

            if cls is _MappingStartEvent or cls is _SequenceStartEvent:
                mapping = cls is _MappingStartEvent
                new: Any = {} if mapping else []
                if ev.tag is not None and ev.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
                    problems.append(Problem(
                        "unsupported-tag", f"unsupported tag {_short_tag(ev.tag)}", loc(ev),
                        "remove the tag; molthub reads plain YAML data only"))
                if len(stack) >= max_depth:
                    problems.append(Problem(
                        "deep-nesting",
                        f"mappings and sequences are nested more than {max_depth} levels deep",
                        loc(ev),
                        "flatten the structure; no molthub document needs this depth",
                    ))
                    raise _Abort
                if is_map:
                    if key is None:
                        problems.append(Problem(
                            "yaml-syntax", "a mapping key must be a scalar, not a "
                            + ("mapping" if mapping else "sequence"), loc(ev),
                            "use a plain string as the key"))
                        raise _Abort
                    if key is _MERGE_KEY:
                        stack[-1][5].append((new, loc(ev)))
                        path: PathKey = (*cur_path, "<<")
                    else:
                        cur[key] = new
                        path = (*cur_path, key)
                    key = None
                elif cur is not None:
                    path = (*cur_path, len(cur))
                    positions[path] = loc(ev)
                    cur.append(new)
                else:
                    root = new
                    path = ()
                    positions[()] = loc(ev)
                if ev.anchor is not None:
                    anchors[ev.anchor] = _BUILDING
                stack.append([new, path, mapping, None, ev.anchor, [], None])
                cur, cur_path, is_map, key = new, path, mapping, None
                continue

            if cls is _MappingEndEvent or cls is _SequenceEndEvent:
                frame = stack.pop()
                if frame[5]:
                    _apply_merges(frame, positions, problems)
                if frame[4] is not None:
                    anchors[frame[4]] = frame[0]
                if stack:
                    parent = stack[-1]
                    cur, cur_path, is_map, key = parent[0], parent[1], parent[2], None
                else:
                    cur, cur_path, is_map, key = None, (), False, None
                continue

            if cls is _DocumentEndEvent:
                break
        yield ParsedDocument(root, positions, index, file)


def _apply_merges(
    frame: list[Any], positions: dict[PathKey, Location], problems: list[Problem]
) -> None:
    """Fold ``<<`` merge sources into the finished mapping of ``frame``."""
    target: dict[str, Any] = frame[0]
    path: PathKey = frame[1]
    merge_loc: Location = frame[6]
    sources: list[dict[str, Any]] = []
    for value, where in frame[5]:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                problems.append(Problem(
                    "yaml-syntax", "a merge key (<<) takes a mapping or a list of mappings",
                    where, "merge an anchored mapping: <<: *base"))
                return
            sources.append(item)
    for source in sources:
        for k, v in source.items():
            if k not in target:
                target[k] = v
                positions.setdefault((*path, k), merge_loc)
