"""Template parameters: typed values with defaults, given by the fleet and then by the bot.

A value's type is checked strictly (``integer`` excludes booleans and floats; ``number``
accepts integers and floats but not booleans); ``enum`` values are compared by JSON value.
Unknown names, wrong types, values outside the enum, and missing required values are issues
reported at the file:line that gave (or should have given) them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from molthub_gitops.model.documents import Fleet, Parameter, Template
from molthub_gitops.model.repository import SourceDoc
from molthub_gitops.render.canonical import canonical_text
from molthub_gitops.render.issues import Issue

__all__ = ["check_fleet_parameters", "check_template_parameters", "resolve_bot_parameters"]

_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_JSON_TYPE = {
    str: "string", bool: "boolean", int: "integer", float: "number", list: "array",
    dict: "object", type(None): "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)


_SENSITIVE = re.compile(r"token|passw|secret|api[-_]?key|credential|private[-_]?key",
                        re.IGNORECASE)


def value_error(param: Parameter, value: Any, name: str = "") -> str | None:
    """Why ``value`` is not acceptable for ``param``, or None. The value is not shown when
    the parameter's name looks like a secret's."""
    why = _value_error(param, value)
    if why is not None and _SENSITIVE.search(name):
        return why.replace(_show(value), "<redacted>")
    return why


def _value_error(param: Parameter, value: Any) -> str | None:
    allowed = _TYPE_CHECKS[param.type]
    if isinstance(value, bool) and param.type != "boolean":
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        return f"must be of type {param.type}, got {_json_type(value)} {_show(value)}"
    try:
        canonical_text(value)
    except ValueError:
        return "holds a number JSON cannot represent (NaN or infinity)"
    if param.enum is not None:
        try:
            allowed_texts = {canonical_text(v) for v in param.enum}
            text = canonical_text(value)
        except ValueError:
            return f"is not one of {_show(param.enum)}"
        if text not in allowed_texts:
            return f"{_show(value)} is not one of {_show(param.enum)}"
    return None


def _show(value: Any) -> str:
    try:
        text = canonical_text(value)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown(name: str, known: Mapping[str, Parameter], template: str) -> tuple[str, str]:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else (
        f"template {template} declares: {', '.join(sorted(known)) or 'no parameters'}"
    )
    return f"unknown parameter {name!r} (template {template} does not declare it)", hint


def check_template_parameters(template: SourceDoc[Template]) -> list[Issue]:
    """Defaults and enums of a template's parameters that contradict their own type."""
    issues = []
    for name, param in template.doc.spec.parameters.items():
        if param.default is not None:
            why = value_error(param, param.default, name)
            if why is not None:
                issues.append(Issue(
                    "render-param-type",
                    f"template {template.name}: default of parameter {name!r} {why}",
                    template.loc("spec", "parameters", name, "default"),
                ))
    return issues


def check_fleet_parameters(fleet: SourceDoc[Fleet], template: SourceDoc[Template]) -> list[Issue]:
    """Problems in the values a fleet gives (unknown names, types, enums)."""
    declared = template.doc.spec.parameters
    issues = []
    for name, value in fleet.doc.spec.parameters.items():
        where = fleet.loc("spec", "parameters", name)
        if name not in declared:
            message, hint = _unknown(name, declared, template.name)
            issues.append(
                Issue("render-param-unknown", f"fleet {fleet.name}: {message}", where, hint)
            )
            continue
        why = value_error(declared[name], value, name)
        if why is not None:
            issues.append(Issue(
                "render-param-type", f"fleet {fleet.name}: parameter {name!r} {why}", where,
                related=(template.loc("spec", "parameters", name),),
            ))
    return issues


def resolve_bot_parameters(
    fleet: SourceDoc[Fleet], bot_index: int, template: SourceDoc[Template]
) -> tuple[dict[str, Any], list[Issue]]:
    """The parameter values of one bot (defaults < fleet < bot) and the bot-level issues.

    Fleet-level issues come from :func:`check_fleet_parameters` (reported once per fleet).
    A parameter with no value and no default is left out of ``params``.
    """
    declared = template.doc.spec.parameters
    bot = fleet.doc.spec.bots[bot_index]
    issues: list[Issue] = []
    params: dict[str, Any] = {}
    for name, param in declared.items():
        if param.default is not None:
            params[name] = param.default
    for name, value in fleet.doc.spec.parameters.items():
        if name in declared:
            params[name] = value
    for name, value in bot.parameters.items():
        where = fleet.loc("spec", "bots", bot_index, "parameters", name)
        if name not in declared:
            message, hint = _unknown(name, declared, template.name)
            issues.append(Issue("render-param-unknown", message, where, hint))
            continue
        why = value_error(declared[name], value, name)
        if why is not None:
            issues.append(Issue(
                "render-param-type", f"parameter {name!r} {why}", where,
                related=(template.loc("spec", "parameters", name),),
            ))
            continue
        params[name] = value
    for name, param in declared.items():
        if param.required and name not in params and name not in bot.parameters:
            # Given by neither the fleet nor the bot: one issue at the fleet, naming the bots.
            where = fleet.loc("spec", "parameters")
            issues.append(Issue(
                "render-param-required",
                f"no value for required parameter {name!r} of template {template.name}",
                where,
                hint=f"set it in the fleet's spec.parameters or the bot's parameters: {name}: ...",
                related=(template.loc("spec", "parameters", name),),
            ))
    return params, issues
