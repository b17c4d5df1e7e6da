"""Turning results of the repository commands into the text they print.

Output is deterministic: rendered configs are written with sorted keys and a fixed document
shape, so the same repository gives the same bytes on every run and machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from molthub_gitops.render.engine import RenderedBot
from molthub_gitops.render.explain import ABSENT, Explanation
from molthub_gitops.render.paths import format_path

__all__ = [
    "explanation",
    "init_next_steps",
    "rendered_bots",
    "rendered_document",
    "yaml_stream",
]


def _sorted(value: Any) -> Any:
    """A copy of ``value`` with every mapping's keys in sorted order."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def rendered_document(bot: RenderedBot) -> dict[str, Any]:
    """The stable document ``molthub render`` prints for one bot."""
    return {
        "name": bot.name,
        "fleet": bot.fleet,
        "environment": bot.environment,
        "labels": _sorted(dict(bot.labels)),
        "openclawVersion": bot.openclaw_version,
        "gatewayUrl": bot.gateway_url,
        "configHash": bot.config_hash,
        "config": _sorted(bot.config),
    }


# A small YAML emitter for JSON-shaped data. It is faster than PyYAML's emitters, keeps
# non-ASCII text readable, and its output depends on nothing but this code (not on the
# libyaml version), so renders stay byte-identical across machines. Strings are written
# plain only when no YAML 1.1 or 1.2 reader could take them for anything but that string;
# all others are double-quoted JSON strings (valid YAML), with YAML's non-printable
# characters and line separators escaped too.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_UNPRINTABLE = re.compile(
    r"[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    r"|[\u2028\u2029]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _yaml_str(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return _UNPRINTABLE.sub(_escape_char, json.dumps(text, ensure_ascii=False))


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, exponent = text.split("e")
            sign = "" if exponent[0] in "+-" else "+"
            text = f"{mantissa}.0e{sign}{exponent}"
        return text
    if isinstance(value, str):
        return _yaml_str(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _yaml_block(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of a non-empty mapping or sequence at ``indent``."""
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{_yaml_str(str(key))}:"
            if isinstance(item, dict | list) and item:
                out.append(head)
                _yaml_block(item, indent if isinstance(item, list) else indent + "  ", out)
            else:
                out.append(f"{head} {_yaml_inline(item)}")
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            sub: list[str] = []
            _yaml_block(item, indent + "  ", sub)
            out.append(f"{indent}- {sub[0][len(indent) + 2:]}")
            out.extend(sub[1:])
        else:
            out.append(f"{indent}- {_yaml_inline(item)}")


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def yaml_stream(docs: Sequence[dict[str, Any]]) -> str:
    """JSON-shaped mappings as a YAML multi-document stream (each document starts ``---``)."""
    out: list[str] = []
    for doc in docs:
        out.append("---")
        if doc:
            _yaml_block(doc, "", out)
        else:
            out.append("{}")
    return "\n".join(out) + "\n" if out else ""


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def rendered_bots(bots: Sequence[RenderedBot], fmt: str) -> str:
    """Every bot as a YAML multi-document stream (``yaml``) or a JSON list (``json``)."""
    docs = [rendered_document(b) for b in bots]
    return _json(docs) if fmt == "json" else yaml_stream(docs)


# --------------------------------------------------------------------------- explain


def _value_text(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _json_value(value: Any) -> Any:
    return None if value is ABSENT else value


def explanation(exp: Explanation, fmt: str) -> str:
    """The layer chain of one config value, as aligned text or one JSON object."""
    path = format_path(exp.path)
    if fmt == "json":
        return _json({
            "bot": exp.bot,
            "fleet": exp.fleet,
            "path": path,
            "steps": [
                {
                    "action": step.action,
                    "layer": step.origin.layer,
                    "document": step.origin.document,
                    "file": step.origin.location.file,
                    "line": step.origin.location.line,
                    "column": step.origin.location.column,
                    "value": _json_value(step.value),
                    "present": step.value is not ABSENT,
                }
                for step in exp.steps
            ],
            "final": _json_value(exp.final),
            "present": exp.present,
        })
    rows = [
        (f"{i}.", step.action, step.origin.document, str(step.origin.location),
         _value_text(step.value))
        for i, step in enumerate(exp.steps, 1)
    ]
    widths = [max((len(r[c]) for r in rows), default=0) for c in range(4)]
    lines = [f"{exp.bot} (fleet {exp.fleet}): {path}"]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        lines.append("  " + "  ".join(cells) + "  " + row[4])
    if not rows:
        lines.append("  no layer sets this path")
    lines.append(f"final: {_value_text(exp.final)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- init


def init_next_steps(given: Path, created: Path) -> str:
    """What to do after ``molthub init``."""
    return (
        f"Created a fleet repository in {created}\n\n"
        "Next steps:\n"
        f"  cd {given}\n"
        "  molthub validate .                    # every bot renders and passes its schema\n"
        "  molthub render . --bot support-eu-01  # read one bot's config\n"
        "  git init && git add . && git commit -m 'Fleet repository from molthub init'\n\n"
        "Then edit fleets/, templates/, profiles/ and overlays/ to describe your own bots;\n"
        "README.md in the new repository explains the layout.\n"
    )
