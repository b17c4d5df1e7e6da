"""Jinja2 in config strings: a sandboxed, strict, deterministic environment and a compile cache.

Rules:

* Only strings containing ``{{`` or ``{%`` are templates; every other string is kept verbatim.
  ``${VAR}`` (an OpenClaw environment reference) is not Jinja syntax, so it passes through
  untouched, also inside templated strings.
* The environment is :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
  :class:`jinja2.StrictUndefined` and autoescape off: attribute access that could escape the
  sandbox (``''.__class__``...) raises ``SecurityError`` and never runs; an undefined name is an
  error; nothing in the context can be modified. Huge results from ``*`` and ``**`` are
  refused. Non-deterministic helpers (``lipsum``, the ``random`` filter) are removed, so the
  same inputs always render the same bytes. A trailing newline is kept.
* **Native types**: a string that is exactly one expression, ``"{{ expr }}"`` (nothing around
  it), evaluates to the expression's own type, so ``port: "{{ params.port }}"`` gives the
  integer ``18789`` and ``"{{ params.allowFrom }}"`` a list. An expression giving ``none``
  yields ``null``, which deletes the key like any ``null``. Any other templated string renders
  to a string.
* Each distinct source string is compiled once and cached, process-wide.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "CONTEXT_NAMES",
    "CompiledString",
    "TemplateFailure",
    "compile_string",
    "is_template",
    "render_compiled",
    "render_text",
]

CONTEXT_NAMES = frozenset({"bot", "fleet", "params"})
"""Names available to expressions."""

_MAX_SEQUENCE = 1_000_000
_MAX_EXPONENT_BITS = 4096
_CACHE_LIMIT = 200_000


class _Env(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits on ``*`` and ``**`` so an expression cannot exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if (
                isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
                and right * int(abs(left)).bit_length() > _MAX_EXPONENT_BITS
            ):
                raise SecurityError("the result of ** would be too large")
            return operator.pow(left, right)
        for seq, times in ((left, right), (right, left)):
            if (
                isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                and len(seq) * max(times, 0) > _MAX_SEQUENCE
            ):
                raise SecurityError("the result of * would be too large")
        return operator.mul(left, right)


def _make_env() -> _Env:
    env = _Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.pop("lipsum", None)
    env.filters.pop("random", None)
    return env


_ENV = _make_env()
_GLOBALS = dict(_ENV.globals)

_SINGLE = re.compile(r"\A\{\{(?![-+])(?P<expr>.*?)(?<![-+])\}\}\Z", re.DOTALL)
_DELIMS = ("{{", "}}", "{%", "%}", "{#", "#}")


def is_template(text: str) -> bool:
    """True when a string is rendered with Jinja2 (it holds ``{{`` or ``{%``)."""
    return "{{" in text or "{%" in text


class TemplateFailure(Exception):
    """A template failed to compile or render. ``code`` is the Problem code to report."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CompiledString:
    """A compiled templated string (or the syntax error it has)."""

    source: str
    native: bool
    uses: frozenset[str]
    """Context names the template reads (subset of bot, fleet, params)."""
    template: Template | None
    """For a native expression, a template that assigns it to ``result``. None for a syntax
    error, and for a look-up-only string (built when first needed)."""
    error: TemplateFailure | None
    lookups: tuple[str | tuple[str, ...], ...] | None = None
    """When the string is only literal text and ``{{ a.b.c }}`` look-ups of context names:
    the literal pieces (str) and the look-ups (tuples of names), in order. Rendering then
    reads the context directly when every look-up finds a plain string (or, for a native
    expression, a string, integer or boolean) and falls back to Jinja otherwise; both give
    the same result (tests compare them)."""


_CACHE: dict[str, CompiledString] = {}


def _single_expression(source: str) -> str | None:
    m = _SINGLE.match(source)
    if m is None:
        return None
    expr = m.group("expr")
    if any(d in expr for d in _DELIMS):
        return None
    return expr


_LOOKUP = re.compile(r"\{\{(?![-+])[ \t]*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                     r"[ \t]*(?<![-+])\}\}")
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _lookups(source: str) -> tuple[str | tuple[str, ...], ...] | None:
    """The pieces of a string made only of literal text and plain look-ups of context names
    (see :attr:`CompiledString.lookups`), or None. Refused: other delimiters in the literal
    text, carriage returns (Jinja normalises newlines), names a dict has as attributes or
    that start with ``_`` (Jinja's attribute access would find something else)."""
    if "\r" in source:
        return None
    pieces: list[str | tuple[str, ...]] = []
    pos = 0
    for m in _LOOKUP.finditer(source):
        if m.start() > pos:
            pieces.append(source[pos:m.start()])
        names = tuple(m.group(1).split("."))
        if names[0] not in CONTEXT_NAMES or any(
            n.startswith("_") or n in _DICT_ATTRIBUTES for n in names[1:]
        ):
            return None
        pieces.append(names)
        pos = m.end()
    if pos < len(source):
        pieces.append(source[pos:])
    if not any(type(p) is tuple for p in pieces) or any(
        d in p for p in pieces if type(p) is str for d in _DELIMS
    ):
        return None
    for before, after in itertools.pairwise(pieces):
        # a brace next to a delimiter would lex differently ("{{{ x }}", "{{ x }}}")
        if (type(before) is str and before.endswith("{")) or (
            type(after) is str and after.startswith("}")
        ):
            return None
    return tuple(pieces)


def _compile(source: str) -> CompiledString:
    lookups = _lookups(source)
    if lookups is not None:
        # Plain look-ups: rendered without Jinja unless a value needs it, so the Jinja
        # template is only built then (see _jinja_template); compiling costs milliseconds
        # and strings such as gateway URLs are often distinct per fleet.
        native = len(lookups) == 1
        if native == (_single_expression(source) is not None):
            uses = frozenset(p[0] for p in lookups if type(p) is tuple)
            return CompiledString(source, native, uses, None, None, lookups)
    return _compile_jinja(source)


def _compile_jinja(source: str) -> CompiledString:
    """Compiled through Jinja, with no look-up shortcut."""
    try:
        ast = _ENV.parse(source)
        uses = frozenset(meta.find_undeclared_variables(ast)) & CONTEXT_NAMES
        expr = _single_expression(source)
        if expr is not None:
            assign = _ENV.from_string("{% set result = " + expr + " %}")
            return CompiledString(source, True, uses, assign, None)
        return CompiledString(source, False, uses, _ENV.from_string(ast), None)
    except TemplateSyntaxError as exc:
        where = f" (line {exc.lineno} of the string)" if "\n" in source else ""
        failure = TemplateFailure(
            "render-jinja-syntax", f"Jinja2 syntax error{where}: {exc.message}"
        )
        return CompiledString(source, False, frozenset(), None, failure)
    except SecurityError as exc:
        return CompiledString(
            source, False, frozenset(), None, TemplateFailure("render-jinja-sandbox", str(exc))
        )


def compile_string(source: str) -> CompiledString:
    """The compiled form of a templated string, from the process-wide cache."""
    found = _CACHE.get(source)
    if found is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        found = _compile(source)
        _CACHE[source] = found
    return found


def _to_json(value: Any, depth: int = 0) -> Any:
    """A native expression result as plain JSON data (tuples become lists)."""
    if depth > 64:
        raise TemplateFailure("render-jinja-error", "the expression gave a value nested too deeply")
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and type(value) is not str:
            return str(value)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateFailure(
                "render-jinja-error", f"the expression gave {value}, not a JSON number"
            )
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TemplateFailure(
                    "render-jinja-error",
                    f"the expression gave a mapping with a non-string key {k!r}",
                )
            out[k] = _to_json(v, depth + 1)
        return out
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises here, with the reason
    raise TemplateFailure(
        "render-jinja-error",
        f"the expression gave a {type(value).__name__}, which is not a JSON value",
    )


_NO_VALUE = object()


def _look_up(names: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    value = context.get(names[0], _NO_VALUE)
    for name in names[1:]:
        if type(value) is not dict:
            return _NO_VALUE
        value = value.get(name, _NO_VALUE)
    return value


def _render_lookups(pieces: tuple[str | tuple[str, ...], ...], native: bool,
                    context: Mapping[str, Any]) -> Any:
    """The result of a look-up-only string, or ``_NO_VALUE`` when Jinja must decide."""
    if native:
        value = _look_up(pieces[0], context)  # type: ignore[arg-type]
        return value if type(value) in (str, int, bool) else _NO_VALUE
    out = []
    for piece in pieces:
        if type(piece) is str:
            out.append(piece)
            continue
        value = _look_up(piece, context)  # type: ignore[arg-type]
        if type(value) is not str:
            return _NO_VALUE
        out.append(value)
    return "".join(out)


def render_compiled(compiled: CompiledString, context: Mapping[str, Any]) -> Any:
    """Render with ``context``; raises :class:`TemplateFailure` on any error."""
    if compiled.lookups is not None:
        value = _render_lookups(compiled.lookups, compiled.native, context)
        if value is not _NO_VALUE:
            return value
    return render_with_jinja(compiled, context)


_JINJA: dict[str, Template] = {}


def _jinja_template(compiled: CompiledString) -> Template:
    """The Jinja template of a look-up-only string (built on first need, cached)."""
    found = _JINJA.get(compiled.source)
    if found is None:
        expr = _single_expression(compiled.source) if compiled.native else None
        try:
            found = _ENV.from_string(
                "{% set result = " + expr + " %}" if expr is not None else compiled.source
            )
        except (TemplateSyntaxError, SecurityError) as exc:  # not expected: checked by tests
            raise TemplateFailure("render-jinja-syntax", f"Jinja2 syntax error: {exc}") from None
        if len(_JINJA) >= _CACHE_LIMIT:
            _JINJA.clear()
        _JINJA[compiled.source] = found
    return found


def render_with_jinja(compiled: CompiledString, context: Mapping[str, Any]) -> Any:
    """:func:`render_compiled` without the look-up shortcut (always through Jinja)."""
    if compiled.error is not None:
        raise compiled.error
    template = compiled.template
    if template is None:
        template = _jinja_template(compiled)
    # Rendering through the template's root function with a Context built here, rather than
    # Template.render, saves most of Jinja's per-call overhead (this runs per bot and string).
    ctx = Context(_ENV, {**_GLOBALS, **context}, None, {})
    try:
        if compiled.native:
            for _ in template.root_render_func(ctx):
                pass
            return _to_json(ctx.vars["result"])
        return "".join(template.root_render_func(ctx))
    except TemplateFailure:
        raise
    except SecurityError as exc:
        raise TemplateFailure("render-jinja-sandbox", f"unsafe operation refused: {exc}") from None
    except UndefinedError as exc:
        raise TemplateFailure(
            "render-jinja-undefined", f"undefined value: {exc.message}"
        ) from None
    except TemplateSyntaxError as exc:
        raise TemplateFailure(
            "render-jinja-syntax", f"Jinja2 syntax error: {exc.message}"
        ) from None
    except RecursionError:
        raise TemplateFailure("render-jinja-error", "the template recursed too deeply") from None
    except Exception as exc:  # any error from evaluating user code becomes a Problem
        raise TemplateFailure(
            "render-jinja-error", f"{type(exc).__name__}: {exc}"
        ) from None


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """Render a string that must stay a string (gateway URLs, secret names)."""
    if not is_template(source):
        return source
    compiled = compile_string(source)
    result = render_compiled(compiled, context)
    if compiled.native:
        if isinstance(result, (dict, list)) or result is None:
            raise TemplateFailure(
                "render-jinja-error",
                f"the expression gave a {type(result).__name__}; a string is needed here",
            )
        if isinstance(result, bool):
            return "true" if result else "false"
        return str(result)
    return str(result)
