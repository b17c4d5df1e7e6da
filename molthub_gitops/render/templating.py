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
    """For a native expression, a template that assigns it to ``result``."""
    error: TemplateFailure | None


_CACHE: dict[str, CompiledString] = {}


def _single_expression(source: str) -> str | None:
    m = _SINGLE.match(source)
    if m is None:
        return None
    expr = m.group("expr")
    if any(d in expr for d in _DELIMS):
        return None
    return expr


def _compile(source: str) -> CompiledString:
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


def render_compiled(compiled: CompiledString, context: Mapping[str, Any]) -> Any:
    """Render with ``context``; raises :class:`TemplateFailure` on any error."""
    if compiled.error is not None:
        raise compiled.error
    template = compiled.template
    assert template is not None
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
