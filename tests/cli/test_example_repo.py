"""example-repo/: the repository users copy is complete, realistic, and valid for real.

Beyond `molthub validate` (every bot renders and passes the vendored OpenClaw 2026.9.6
schema, tested in test_cli_validate.py), this checks the features it must demonstrate, that
it holds no secret values, and -- with a real OpenClaw gateway installed -- that the real
gateway's own `openclaw config validate` accepts rendered configs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelpers import EXAMPLE, run_cli

from molthub_gitops.providers.openclaw_process import find_openclaw
from molthub_gitops.repo.load import load

MODELINE = re.compile(
    r"^# yaml-language-server: \$schema=https://molthub\.dev/schemas/v1/([a-z-]+)\.schema\.json$"
)
SECRET_KEY = re.compile(r"(token|secret|password|apikey|api_key)$", re.IGNORECASE)
ENV_REF = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")


@pytest.fixture(scope="module")
def repo() -> Any:
    return load(EXAMPLE)


def test_size_and_environments(repo: Any) -> None:
    fleets = list(repo.fleets.values())
    bots = [b for f in fleets for b in f.doc.spec.bots]
    assert len(fleets) >= 4
    assert len(bots) >= 30
    assert {f.doc.spec.environment for f in fleets} == {"dev", "staging", "prod"}
    assert len(repo.templates) >= 3
    assert {"baseline", "hardening", "env-dev", "env-staging", "env-prod"} <= set(repo.profiles)


def test_templates_use_the_real_channels_and_typed_parameters(repo: Any) -> None:
    channels = {
        name: set(t.doc.spec.config.get("channels", {})) for name, t in repo.templates.items()
    }
    assert channels == {
        "telegram-support": {"telegram"},
        "slack-assistant": {"slack"},
        "whatsapp-personal": {"whatsapp"},
    }
    for template in repo.templates.values():
        params = template.doc.spec.parameters
        assert params, template.name
        assert all(p.description for p in params.values())
        text = json.dumps(template.doc.spec.config)
        assert "{{ params." in text
        assert "{{ bot.name }}" in text
    types = Counter(p.type for t in repo.templates.values() for p in t.doc.spec.parameters.values())
    assert types["integer"] >= 1
    assert types["string"] >= 3
    assert any(p.enum for t in repo.templates.values() for p in t.doc.spec.parameters.values())


def test_layers_demonstrate_every_feature(repo: Any) -> None:
    strategies = {
        path: s for doc in [*repo.templates.values(), *repo.profiles.values()]
        for path, s in doc.doc.spec.merge_strategies.items()
    }
    assert any(getattr(s, "merge_by", None) for s in strategies.values())
    assert "union" in strategies.values()
    assert repo.profiles["hardening"].doc.spec.locked_paths
    overlays = {name: o.doc.spec for name, o in repo.overlays.items()}
    assert any(o.selector.match_labels.get("region") for o in overlays.values())
    assert any(o.selector.match_labels.get("tier") == "canary" for o in overlays.values())
    assert any(o.selector.bots for o in overlays.values())
    rollouts = {f.doc.spec.environment: set() for f in repo.fleets.values()}
    for fleet in repo.fleets.values():
        rollouts[fleet.doc.spec.environment].add(fleet.doc.spec.rollout.strategy)
    assert rollouts == {"dev": {"all"}, "staging": {"percentage"}, "prod": {"canary"}}
    for fleet in repo.fleets.values():
        gw = fleet.doc.spec.gateway
        assert gw.auth == "token"
        assert gw.secret is not None
        assert gw.secret.env


def test_hardening_locks_are_enforced(example_copy: Path) -> None:
    """Changing a locked path in an overlay is an error naming both files."""
    overlay = example_copy / "overlays" / "region-us.yaml"
    overlay.write_text(overlay.read_text("utf-8").replace(
        "        userTimezone: America/New_York\n",
        "        userTimezone: America/New_York\n        sandbox:\n          mode: \"off\"\n"),
        "utf-8")
    result = run_cli(["validate", str(example_copy)])
    assert result.code == 2
    assert "overlays/region-us.yaml" in result.stderr
    assert "profiles/hardening.yaml" in result.stderr


def _walk(value: Any, path: str = "") -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


def test_no_secret_values_only_env_references() -> None:
    docs = yaml.safe_load_all(run_cli(["render", str(EXAMPLE)]).stdout)
    seen = 0
    for doc in docs:
        for path, value in _walk(doc["config"]):
            key = path.rsplit(".", 1)[-1]
            if SECRET_KEY.search(key):
                assert isinstance(value, str), (doc["name"], path)
                assert ENV_REF.match(value), (doc["name"], path)
                seen += 1
    assert seen >= 36 * 2  # every bot has a gateway token and a channel credential or two
    raw = "\n".join(p.read_text("utf-8") for p in EXAMPLE.rglob("*.yaml"))
    assert not re.search(r"xox[abp]-[0-9]|\b\d{8,10}:[A-Za-z0-9_-]{30,}", raw)


def test_every_yaml_file_has_a_schema_modeline_for_its_kind() -> None:
    files = sorted(EXAMPLE.rglob("*.yaml"))
    assert len(files) >= 15
    for path in files:
        first = path.read_text("utf-8").splitlines()[0]
        m = MODELINE.match(first)
        assert m, f"{path}: {first}"
        kinds = {d["kind"].lower() for d in yaml.safe_load_all(path.read_text("utf-8")) if d}
        assert kinds == {m.group(1).replace("-", "")}, path


def test_modelines_name_schemas_this_project_publishes() -> None:
    schemas = EXAMPLE.parent / "schemas"
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        m = MODELINE.match(path.read_text("utf-8").splitlines()[0])
        assert m
        local = schemas / f"{m.group(1)}.schema.json"
        assert local.is_file(), f"{path}: {local} does not exist"


# ----------------------------------------------------------------------- the real gateway

REAL_BOTS = ["support-eu-08", "assistant-finance", "concierge-carol", "support-dev-03"]


@pytest.mark.real_gateway
@pytest.mark.parametrize("bot", REAL_BOTS)
def test_real_gateway_accepts_rendered_config(bot: str) -> None:
    """The real OpenClaw 2026.9.6 `openclaw config validate` accepts rendered configs, with no
    warnings once the ${VAR} references they hold have values."""
    install = find_openclaw("2026.9.6")
    if install is None:
        pytest.fail("openclaw@2026.9.6 is not installed: run scripts/install-openclaw.sh",
                    pytrace=False)
    [doc] = json.loads(run_cli(["render", str(EXAMPLE), "--bot", bot, "-o", "json"]).stdout)
    home = Path(tempfile.mkdtemp(prefix="molthub-oc-"))
    try:
        (home / ".openclaw").mkdir()
        (home / ".openclaw" / "openclaw.json").write_text(json.dumps(doc["config"]), "utf-8")
        env = {
            "HOME": str(home),
            "PATH": f"{install.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "TMPDIR": str(home),
            # values for the ${VAR} references (placeholders; nothing connects anywhere)
            "OPENCLAW_GATEWAY_TOKEN": "t" * 40,
            "TELEGRAM_BOT_TOKEN": "123456:placeholder",
            "SLACK_BOT_TOKEN": "xoxb-placeholder",
            "SLACK_APP_TOKEN": "xapp-placeholder",
            "OWNER_PHONE": "+15555550123",
        }
        proc = subprocess.run(
            install.command("config", "validate", "--json"), capture_output=True, env=env,
            cwd=home, timeout=180, check=False, start_new_session=True,
        )
        out = proc.stdout.decode()
        assert proc.returncode == 0, out + proc.stderr.decode()
        verdict = json.loads(out[out.index("{"):])
        assert verdict["valid"] is True, verdict
        assert verdict.get("warnings", []) == [], verdict
    finally:
        shutil.rmtree(home, ignore_errors=True)
