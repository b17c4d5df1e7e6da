"""The lazy `molthub` group: help lists every command without importing command modules."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import click
from click.testing import CliRunner
from clihelpers import ROOT, TIMEOUT

from molthub_gitops.cli import COMMANDS, main

_PROBE = """
import json, sys
from click.testing import CliRunner
from molthub_gitops.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
heavy = sorted(m for m in sys.modules
               if m.startswith(("molthub_gitops.cli.", "pydantic", "pygit2", "jsonschema",
                                "websockets")))
print(json.dumps({"code": result.exit_code, "out": result.output, "heavy": heavy}))
"""


def _probe(*args: str) -> dict[str, object]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True,
                          text=True, env=env, timeout=TIMEOUT, check=True)
    found: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def test_top_level_help_imports_no_command_module() -> None:
    found = _probe("--help")
    assert found["code"] == 0
    assert found["heavy"] == []
    for name in COMMANDS:
        assert f"  {name} " in str(found["out"])


def test_command_help_imports_only_that_commands_module() -> None:
    found = _probe("schema", "--help")
    assert found["code"] == 0
    assert "--check" in str(found["out"])
    heavy = found["heavy"]
    assert isinstance(heavy, list)
    assert "molthub_gitops.cli.schema_command" in heavy
    assert "molthub_gitops.cli.gateway_commands" not in heavy
    assert "molthub_gitops.cli.repo_commands" not in heavy


def test_table_matches_what_each_module_registers() -> None:
    """Every module's registered commands are in the table with the same short help, and
    every table entry names a command its module registers."""
    registered: dict[str, click.Command] = {}
    for module_name in sorted({m for m, _ in COMMANDS.values()}):
        scratch = click.Group()
        importlib.import_module(f"molthub_gitops.cli.{module_name}").register(scratch)
        for name, command in scratch.commands.items():
            assert COMMANDS[name][0] == module_name
            registered[name] = command
    assert set(registered) == set(COMMANDS)
    for name, command in registered.items():
        assert command.get_short_help_str(200) == COMMANDS[name][1]


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output
