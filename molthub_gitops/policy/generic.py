"""Generic rule types: path rules over one bot, and cross-bot rules over every bot in scope.

Path rules look at ``rule.path`` (dotted; ``*`` matches any key or list item at one level, so
``channels.*.dmPolicy`` checks every channel) inside ``rule.subject`` (the rendered ``config``
by default; ``target``, ``gateway`` or ``bot``). ``required`` reports paths that hold no value;
``forbidden`` reports paths that hold one; every other path rule skips bots where the path is
absent (combine it with ``required`` to demand the value). Parameters are checked when the
rule is compiled: a mistake is a :class:`RuleDefinitionError` naming the parameter.

Cross-bot rules: ``unique`` (a value no two bots share, per repository, environment or
fleet) and ``portSpacing`` (gateway ports at least ``minGap`` apart on one host).

Messages name the offending value (secrets redacted) and what was expected, never a bot.
"""

from __future__ import annotations

import bisect
import difflib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import jsonschema
import referencing.exceptions

from molthub_gitops.model.documents import Rule
from molthub_gitops.model.repository import PathKey
from molthub_gitops.model.sensitive import is_env_reference, redact_value
from molthub_gitops.policy._paths import (
    MISSING,
    WILDCARD,
    display,
    lookup,
    matches,
    missing,
    parse_rule_path,
    show,
)
from molthub_gitops.policy._subjects import SubjectReader, config_root
from molthub_gitops.policy.rules import (
    BotCheck,
    CrossViolation,
    FleetwideCheck,
    RuleDefinitionError,
    RuleType,
    Violation,
    register,
)
from molthub_gitops.render.types import RenderedBot

__all__ = ["DEFAULT_GATEWAY_PORT", "FORMATS", "host_of", "same_value", "subject_path"]

DEFAULT_GATEWAY_PORT: Final = 18789
"""Port an OpenClaw gateway listens on when ``gateway.port`` is not set."""

_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


# --------------------------------------------------------------------------- helpers


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _params(rule: Rule, allowed: Mapping[str, bool]) -> dict[str, Any]:
    """``rule.params`` checked against ``allowed`` (name -> required)."""
    names = sorted(allowed)
    listing = ", ".join(names) if names else "none"
    for key in rule.params:
        if key not in allowed:
            raise RuleDefinitionError(
                f"type {rule.type} has no parameter {key!r}{_suggest(key, names)}",
                param=key, hint=f"parameters of {rule.type}: {listing}")
    for key, needed in allowed.items():
        if needed and key not in rule.params:
            raise RuleDefinitionError(
                f"type {rule.type} needs params.{key}", param=key,
                hint=f"add params: {{{key}: ...}} to the rule")
    return dict(rule.params)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``; containers compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def subject_path(subject: str, path: PathKey) -> str:
    """A path as messages show it: ``gateway.port`` in the config, ``gateway url``,
    ``target provider``, ``bot labels.team`` elsewhere."""
    return display(path) if subject == "config" else f"{subject} {display(path)}"


def _pattern_of(rule: Rule) -> tuple[str, ...]:
    if rule.path is None:
        raise RuleDefinitionError(f"type {rule.type} needs a path",
                                  hint="add path: <dotted path>, e.g. path: gateway.bind")
    return parse_rule_path(rule.path)


# --------------------------------------------------------------------------- path rules

Judge = Callable[[str, PathKey, Any], "str | None"]
"""(path as shown in messages, concrete path, value) -> message, or None when it complies."""


class PathCheck(BotCheck):
    """A path rule: ``judge(path, value)`` returns a message for each offending value."""

    def __init__(self, rule: Rule, judge: Judge, *, absent: bool = False) -> None:
        self.pattern = _pattern_of(rule)
        self.subject = rule.subject
        self.reader = SubjectReader(rule.subject)
        self.judge = judge
        self.absent = absent
        """Report missing values (``required``) instead of judging existing ones."""
        if self.subject == "config":
            # Memoise by the subtree the rule reads: the literal prefix of its path (up to a
            # wildcard or a list index), so bots whose section differs elsewhere share verdicts.
            prefix: list[str] = []
            for segment in self.pattern:
                if segment == WILDCARD or segment.isdigit():
                    break
                prefix.append(segment)
            if prefix:
                self.sections = frozenset({".".join(prefix)})

    def name(self, path: PathKey) -> str:
        """``path`` as messages show it (``gateway url`` for other subjects than config)."""
        return subject_path(self.subject, path)

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        root = self.reader.value(bot)
        out: list[Violation] = []
        if self.absent:
            for path in missing(root, self.pattern):
                out.append(Violation(path, f"{self.name(path)} is not set; it is required",
                                     subject=self.subject))
            return out
        for path, value in matches(root, self.pattern):
            message = self.judge(self.name(path), path, value)
            if message is not None:
                out.append(Violation(path, message, subject=self.subject))
        return out


def _compile_required(rule: Rule) -> BotCheck:
    _params(rule, {})
    return PathCheck(rule, lambda name, path, value: None, absent=True)


def _compile_forbidden(rule: Rule) -> BotCheck:
    _params(rule, {})

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if value is None:
            return None
        return f"{name} is set to {show(path, value)}; it must not be set"

    return PathCheck(rule, judge)


def _compile_equals(rule: Rule) -> BotCheck:
    expected = _params(rule, {"value": True})["value"]

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if same_value(value, expected):
            return None
        return f"{name} is {show(path, value)}; expected {show(path, expected)}"

    return PathCheck(rule, judge)


def _values_param(rule: Rule) -> list[Any]:
    values = _params(rule, {"values": True})["values"]
    if not isinstance(values, list) or not values:
        raise RuleDefinitionError("params.values must be a non-empty list", param="values",
                                  hint="e.g. values: [pairing, allowlist]")
    return values


def _listing(path: PathKey, values: Sequence[Any]) -> str:
    return ", ".join(show(path, v) for v in values)


def _compile_one_of(rule: Rule) -> BotCheck:
    values = _values_param(rule)

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if any(same_value(value, v) for v in values):
            return None
        return (f"{name} is {show(path, value)}; expected one of "
                f"{_listing(path, values)}")

    return PathCheck(rule, judge)


def _compile_none_of(rule: Rule) -> BotCheck:
    values = _values_param(rule)

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if not any(same_value(value, v) for v in values):
            return None
        return (f"{name} is {show(path, value)}; expected none of "
                f"{_listing(path, values)}")

    return PathCheck(rule, judge)


def _compile_pattern(rule: Rule) -> BotCheck:
    regex = _params(rule, {"regex": True})["regex"]
    if not isinstance(regex, str):
        raise RuleDefinitionError("params.regex must be a string", param="regex")
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise RuleDefinitionError(f"params.regex is not a valid regular expression: {exc}",
                                  param="regex",
                                  hint="Python re syntax; quote the regex in YAML") from None

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if not isinstance(value, str):
            return (f"{name} is {_kind(value)}; expected a string matching "
                    f"/{regex}/")
        if compiled.search(value) is not None:
            return None
        return f"{name} is {show(path, value)}; expected a match for /{regex}/"

    return PathCheck(rule, judge)


# ----------------------------------------------------------------- formats

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]*@?[^\s/?#]+(?:[/?#]\S*)?$")
_SEMVER: Final = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
_HOST_LABEL: Final = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_DURATION: Final = re.compile(r"^(?=.)(\d+d)?(\d+h)?(\d+m)?(\d+(\.\d+)?s)?(\d+ms)?$")


def _is_hostname(text: str) -> bool:
    name = text[:-1] if text.endswith(".") else text
    return 0 < len(name) <= 253 and all(_HOST_LABEL.match(p) for p in name.split("."))


FORMATS: Final[Mapping[str, tuple[str, Callable[[str], bool]]]] = {
    "email": ("an email address", lambda s: _EMAIL.match(s) is not None),
    "url": ("a URL (scheme://host...)", lambda s: _URL.match(s) is not None),
    "semver": ("a semantic version (1.2.3)", lambda s: _SEMVER.match(s) is not None),
    "hostname": ("a hostname", _is_hostname),
    "duration": ("a duration (30s, 5m, 1h30m, 7d)", lambda s: _DURATION.match(s) is not None),
    "envReference": ("a ${VAR} reference", is_env_reference),
}
"""Format name -> (what it is, for messages; test)."""


def _compile_format(rule: Rule) -> BotCheck:
    name = _params(rule, {"format": True})["format"]
    if not isinstance(name, str) or name not in FORMATS:
        raise RuleDefinitionError(
            f"params.format must be one of {', '.join(FORMATS)}"
            + (_suggest(name, list(FORMATS)) if isinstance(name, str) else ""),
            param="format")
    what, test = FORMATS[name]

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if isinstance(value, str) and test(value):
            return None
        shown = show(path, value) if isinstance(value, str) else _kind(value)
        return f"{name} is {shown}; expected {what}"

    return PathCheck(rule, judge)


# ----------------------------------------------------------------- numbers and sizes


def _holds(value: float, op: str, bound: float) -> bool:
    if op == ">=":
        return value >= bound
    if op == ">":
        return value > bound
    if op == "<=":
        return value <= bound
    return value < bound


def _compile_range(rule: Rule) -> BotCheck:
    params = _params(rule, {"min": False, "max": False, "exclusiveMin": False,
                            "exclusiveMax": False})
    for key, value in params.items():
        if not _is_number(value):
            raise RuleDefinitionError(f"params.{key} must be a number", param=key)
    if not params:
        raise RuleDefinitionError("type range needs at least one of params.min, max, "
                                  "exclusiveMin, exclusiveMax", param="min",
                                  hint="e.g. params: {min: 1, max: 500}")
    lows = [v for k, v in params.items() if k in ("min", "exclusiveMin")]
    highs = [v for k, v in params.items() if k in ("max", "exclusiveMax")]
    if lows and highs and max(lows) > min(highs):
        raise RuleDefinitionError("the range is empty: its lower bound exceeds its upper "
                                  "bound", param="max")
    bounds: list[tuple[str, float, str]] = []
    for key, op, text in (("min", ">=", "at least"), ("exclusiveMin", ">", "more than"),
                          ("max", "<=", "at most"), ("exclusiveMax", "<", "less than")):
        if key in params:
            bounds.append((op, params[key], f"{text} {params[key]}"))
    expectation = " and ".join(text for _, _, text in bounds)

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        if not _is_number(value):
            return f"{name} is {_kind(value)}; expected a number {expectation}"
        if all(_holds(value, op, bound) for op, bound, _ in bounds):
            return None
        return f"{name} is {show(path, value)}; expected {expectation}"

    return PathCheck(rule, judge)


def _count_param(rule: Rule, name: str) -> int:
    value = _params(rule, {name: True})[name]
    if not _is_count(value):
        raise RuleDefinitionError(f"params.{name} must be a whole number >= 0", param=name)
    return int(value)


def _items(value: Any) -> int | None:
    return len(value) if isinstance(value, list | Mapping) else None


def _compile_max_items(rule: Rule) -> BotCheck:
    limit = _count_param(rule, "max")

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        n = _items(value)
        if n is None:
            return f"{name} is {_kind(value)}; expected a list of at most {limit} items"
        if n <= limit:
            return None
        return f"{name} has {n} items; expected at most {limit}"

    return PathCheck(rule, judge)


def _compile_min_items(rule: Rule) -> BotCheck:
    limit = _count_param(rule, "min")

    def judge(name: str, path: PathKey, value: Any) -> str | None:
        n = _items(value)
        if n is None:
            return (f"{name} is {_kind(value)}; expected a list of at least {limit} "
                    "items")
        if n >= limit:
            return None
        return f"{name} has {n} items; expected at least {limit}"

    return PathCheck(rule, judge)


# ----------------------------------------------------------------- JSON Schema

_SCHEMA_MESSAGE_LIMIT: Final = 200


def _pointer(schema: Any, ref: str) -> bool:
    """Whether the local reference ``#/a/b`` resolves inside ``schema``."""
    node = schema
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


class SchemaCheck(PathCheck):
    """``jsonSchema``: every value at the path must validate against a draft-07 schema."""

    def __init__(self, rule: Rule, validator: jsonschema.Draft7Validator) -> None:
        super().__init__(rule, lambda name, path, value: None)
        self.validator = validator

    def check(self, bot: RenderedBot) -> Sequence[Violation]:
        root = self.reader.value(bot)
        out: list[Violation] = []
        for base, value in matches(root, self.pattern):
            try:
                errors = sorted(self.validator.iter_errors(value),
                                key=lambda e: [str(p) for p in e.absolute_path])
            except referencing.exceptions.Unresolvable as exc:  # pragma: no cover - checked
                out.append(Violation(base, f"the rule's schema cannot be used: {exc}",
                                     subject=self.subject))
                continue
            for err in errors:
                path: PathKey = (*base, *err.absolute_path)
                if redact_value(path, err.instance) != err.instance:
                    text = f"fails the schema's {err.validator!r} keyword"
                else:
                    text = err.message
                    if len(text) > _SCHEMA_MESSAGE_LIMIT:
                        text = text[: _SCHEMA_MESSAGE_LIMIT - 1] + "…"
                out.append(Violation(path, f"{self.name(path)}: {text}", subject=self.subject))
        return out


def _compile_json_schema(rule: Rule) -> BotCheck:
    schema = _params(rule, {"schema": True})["schema"]
    if not isinstance(schema, Mapping | bool):
        raise RuleDefinitionError("params.schema must be a JSON Schema (a mapping)",
                                  param="schema")
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise RuleDefinitionError(
            f"params.schema is not a valid draft-07 JSON Schema"
            f"{f' (at {where})' if where else ''}: {exc.message}", param="schema") from None
    for ref in _refs(schema):
        if not ref.startswith("#"):
            raise RuleDefinitionError(f"params.schema refers to {ref!r}; only local "
                                      "references (#/definitions/...) are supported",
                                      param="schema")
        if not _pointer(schema, ref):
            raise RuleDefinitionError(f"params.schema refers to {ref!r}, which it does not "
                                      "contain", param="schema")
    return SchemaCheck(rule, jsonschema.Draft7Validator(schema))


# --------------------------------------------------------------------------- cross-bot rules

_SCOPES: Final = ("repository", "environment", "fleet")
_MAX_OTHERS: Final = 10
"""Other bots named per cross-bot violation (the engine turns them into related places)."""


class UniqueCheck(FleetwideCheck):
    """``unique``: no two bots of one scope share the value at the path."""

    def __init__(self, rule: Rule) -> None:
        params = _params(rule, {"scope": False})
        scope = params.get("scope", "repository")
        if scope not in _SCOPES:
            raise RuleDefinitionError(
                f"params.scope must be one of {', '.join(_SCOPES)}"
                + (_suggest(scope, _SCOPES) if isinstance(scope, str) else ""), param="scope")
        self.scope: str = scope
        self.pattern = _pattern_of(rule)
        self.subject = rule.subject
        self.reader = SubjectReader(rule.subject)

    def _scope_of(self, bot: RenderedBot) -> str:
        if self.scope == "environment":
            return bot.environment
        if self.scope == "fleet":
            return bot.fleet
        return ""

    def check_all(self, bots: Sequence[RenderedBot]) -> Sequence[CrossViolation]:
        seen: dict[tuple[str, str, str], list[tuple[str, PathKey, Any]]] = {}
        for bot in bots:
            root = self.reader.value(bot)
            for path, value in matches(root, self.pattern):
                if value is None:
                    continue
                key = (self._scope_of(bot), "s", value) if isinstance(value, str) else (
                    self._scope_of(bot), "j",
                    json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))
                users = seen.get(key)
                if users is None:
                    seen[key] = [(bot.name, path, value)]
                else:
                    users.append((bot.name, path, value))
        out: list[CrossViolation] = []
        for (where, _, _), users in seen.items():
            names = sorted({name for name, _, _ in users})
            if len(names) < 2:
                continue
            place = {"repository": "", "environment": f" in environment {where}",
                     "fleet": f" in fleet {where}"}[self.scope]
            expected = ("across the repository" if self.scope == "repository"
                        else f"per {self.scope}")
            for name, path, value in users:
                out.append(CrossViolation(
                    name, path,
                    f"{subject_path(self.subject, path)} is {show(path, value)} for "
                    f"{len(names)} bots{place}; "
                    f"expected a value unique {expected}",
                    others=tuple([n for n in names[: _MAX_OTHERS + 1] if n != name][
                        :_MAX_OTHERS]),
                    subject=self.subject))
        return out


_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def host_of(url: str) -> str:
    """The host of a gateway URL, lower case; every loopback name is ``localhost``. (Plain
    string work: this runs once per bot.)"""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        host = url.lower()
    else:
        end = len(rest)
        for stop in "/?#":
            found = rest.find(stop)
            if 0 <= found < end:
                end = found
        authority = rest[:end].rpartition("@")[2]
        if authority.startswith("["):
            close = authority.find("]")
            host = authority[1:close] if close >= 0 else authority
        else:
            host = authority.partition(":")[0]
        host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return "localhost" if host in _LOOPBACK else host


class PortSpacingCheck(FleetwideCheck):
    """``portSpacing``: gateways on one host listen on ports at least ``minGap`` apart."""

    def __init__(self, rule: Rule) -> None:
        gap = _params(rule, {"minGap": False}).get("minGap", 20)
        if not _is_count(gap) or gap < 1:
            raise RuleDefinitionError("params.minGap must be a whole number >= 1",
                                      param="minGap")
        if rule.subject != "config":
            raise RuleDefinitionError("type portSpacing reads the port from the config; "
                                      "leave subject at config")
        self.gap: int = gap
        self.pattern = parse_rule_path(rule.path or "gateway.port")
        if WILDCARD in self.pattern:
            raise RuleDefinitionError("the path of a portSpacing rule names one port; no "
                                      "wildcards")

    def _port(self, bot: RenderedBot, memo: dict[int, tuple[Any, tuple[PathKey, int | None,
                                                                        bool]]]
              ) -> tuple[PathKey, int | None, bool]:
        """(path, port, explicit) of one bot; port None when not a number. ``memo`` maps the
        identity of a shared top-level section to its answer (the section is kept alive)."""
        root = config_root(bot)
        section = root.get(self.pattern[0])
        hit = memo.get(id(section))
        if hit is not None and hit[0] is section:
            return hit[1]
        answer = self._read_port(root)
        if isinstance(section, dict | list):
            memo[id(section)] = (section, answer)
        return answer

    def _read_port(self, root: Mapping[str, Any]) -> tuple[PathKey, int | None, bool]:
        path, value = lookup(root, self.pattern)
        if value is MISSING:
            return self.pattern, DEFAULT_GATEWAY_PORT, False
        if isinstance(value, int) and not isinstance(value, bool):
            return path, value, True
        return path, None, True

    def check_all(self, bots: Sequence[RenderedBot]) -> Sequence[CrossViolation]:
        hosts: dict[str, list[tuple[int, str, PathKey, bool]]] = {}
        memo: dict[int, tuple[Any, tuple[PathKey, int | None, bool]]] = {}
        for bot in bots:
            path, port, explicit = self._port(bot, memo)
            if port is not None:
                hosts.setdefault(host_of(bot.gateway_url), []).append(
                    (port, bot.name, path, explicit))
        out: list[CrossViolation] = []
        gap = self.gap
        for host, entries in hosts.items():
            if len(entries) < 2:
                continue
            entries.sort()
            ports = [e[0] for e in entries]
            # bots on one port share a window: sort its names once, not once per bot
            # (1,000 bots on one host and the default port would be a million steps)
            windows: dict[tuple[int, int], list[str]] = {}
            for port, name, path, explicit in entries:
                lo = bisect.bisect_left(ports, port - gap + 1)
                hi = bisect.bisect_right(ports, port + gap - 1)
                if hi - lo < 2:
                    continue
                names = windows.get((lo, hi))
                if names is None:
                    names = windows[(lo, hi)] = sorted(entries[j][1] for j in range(lo, hi))
                near = [n for n in names[:_MAX_OTHERS + 1] if n != name]
                shown = f"{port}" if explicit else f"not set (default {port})"
                out.append(CrossViolation(
                    name, path,
                    f"{display(path)} is {shown} on host {host}, less than {gap} from another "
                    f"bot's gateway port there; expected ports at least {gap} apart on one host",
                    others=tuple(near[:_MAX_OTHERS]),
                    hint=f"give each bot on {host} its own {display(path)}, at least {gap} "
                         "apart"))
        return out


# --------------------------------------------------------------------------- registration

_PATH_DOC: Final = "Path rule; bots where the path is absent are skipped."

register(RuleType(
    "required", "The path must hold a value (not absent, not null); below a `*` every "
    "existing item must have it.", _compile_required, {}, needs_path=True))
register(RuleType(
    "forbidden", "The path must hold no value (absent or null).", _compile_forbidden, {},
    needs_path=True))
register(RuleType(
    "equals", f"The value must equal `value` (JSON equality). {_PATH_DOC}", _compile_equals,
    {"value": "The only allowed value (any JSON value)."}, needs_path=True))
register(RuleType(
    "oneOf", f"The value must be one of `values`. {_PATH_DOC}", _compile_one_of,
    {"values": "Allowed values (non-empty list)."}, needs_path=True))
register(RuleType(
    "noneOf", f"The value must be none of `values`. {_PATH_DOC}", _compile_none_of,
    {"values": "Forbidden values (non-empty list)."}, needs_path=True))
register(RuleType(
    "pattern", f"The value must be a string in which `regex` finds a match (Python `re`, "
    f"anchor with ^...$ for a whole match). {_PATH_DOC}", _compile_pattern,
    {"regex": "Regular expression (Python syntax)."}, needs_path=True))
register(RuleType(
    "format", f"The value must be a string of a known format. {_PATH_DOC}", _compile_format,
    {"format": "One of: " + ", ".join(FORMATS) + "."}, needs_path=True))
register(RuleType(
    "range", f"The value must be a number within the bounds. {_PATH_DOC}", _compile_range,
    {"min": "Lowest allowed value (inclusive).", "max": "Highest allowed value (inclusive).",
     "exclusiveMin": "The value must be greater.", "exclusiveMax": "The value must be less."},
    needs_path=True))
register(RuleType(
    "maxItems", f"The list (or mapping) must have at most `max` entries. {_PATH_DOC}",
    _compile_max_items, {"max": "Most entries allowed (>= 0)."}, needs_path=True))
register(RuleType(
    "minItems", f"The list (or mapping) must have at least `min` entries. {_PATH_DOC}",
    _compile_min_items, {"min": "Fewest entries allowed (>= 0)."}, needs_path=True))
register(RuleType(
    "jsonSchema", f"The value must validate against a JSON Schema (draft-07; local $ref "
    f"only). {_PATH_DOC}", _compile_json_schema,
    {"schema": "The JSON Schema (draft-07) the value must satisfy."}, needs_path=True))
register(RuleType(
    "unique", "No two bots of one scope may share the value at the path (bots where it is "
    "absent are skipped).", UniqueCheck,
    {"scope": "Where values must differ: repository (default), environment or fleet."},
    needs_path=True, category="cross-bot"))
register(RuleType(
    "portSpacing", "Gateways on one host (from the bot's gateway URL; loopback names are one "
    "host) must listen on ports at least `minGap` apart; the port is read at the path "
    f"(default gateway.port; {DEFAULT_GATEWAY_PORT} when unset).", PortSpacingCheck,
    {"minGap": "Smallest allowed distance between two ports (default 20)."},
    needs_path=False, category="cross-bot"))
