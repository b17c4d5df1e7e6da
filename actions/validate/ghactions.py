"""GitHub Actions runner plumbing shared by the action's scripts (Python 3.11 stdlib only).

Step outputs go to the file named by $GITHUB_OUTPUT; messages become workflow commands
(``::warning::``...) with their data escaped so a value can never start a command of its own.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any

__all__ = ["annotate", "load_event", "set_outputs"]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: str, message: str, *, title: str = "molthub validate") -> None:
    """Print a workflow command (``error``, ``warning``, ``notice``) to stdout."""
    sys.stdout.write(f"::{level} title={_escape_property(title)}::{_escape_data(message)}\n")
    sys.stdout.flush()


def set_outputs(values: dict[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT (multi-line values use a random delimiter).

    Without $GITHUB_OUTPUT (run by hand) they are printed instead."""
    lines = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{name}={value}\n")
    target = os.environ.get("GITHUB_OUTPUT", "").strip()
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.writelines(lines)
    else:
        sys.stdout.writelines(lines)
        sys.stdout.flush()


def load_event() -> dict[str, Any]:
    """The webhook payload of the run ($GITHUB_EVENT_PATH), or {} when absent or unreadable."""
    path = os.environ.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            event = json.load(fh)
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}
