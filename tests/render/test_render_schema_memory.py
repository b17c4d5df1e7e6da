"""What the schema check keeps between calls: a byte-bounded memo, nothing keyed by identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from molthub_gitops.render import schema_check
from molthub_gitops.render.schema_check import (
    FastValidator,
    check_openclaw_schema,
    validator_for,
)

from .helpers import fleet, render

ROOT = Path(__file__).resolve().parents[2]
OPENCLAW = ROOT / "schemas" / "openclaw" / "2026.9.6.json"

TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata: {name: base}
spec:
  config:
    gateway:
      mode: local
      port: 18789
      bind: loopback
      auth:
        mode: token
        token: "${GW_TOKEN}"
    logging:
      level: info
"""


@pytest.fixture(scope="module")
def openclaw_schema() -> dict[str, Any]:
    return dict(json.loads(OPENCLAW.read_text(encoding="utf-8")))


def _counted(validator: FastValidator) -> int:
    """The memos' size recomputed from their contents, as the validator counts it."""
    total = 0
    for node in validator._nodes.values():
        total += sum(schema_check._key_bytes(k) for k in node.memo)
        total += sum(schema_check._key_bytes(k) for k in node.shell_memo)
        total += schema_check._ENTRY_OVERHEAD * len(node.valid_objects)
    return total


def test_memo_stays_under_its_byte_bound(openclaw_schema: dict[str, Any],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bound = 40_000
    monkeypatch.setattr(schema_check, "_MEMO_BYTES", bound)
    validator = FastValidator(openclaw_schema)
    plain = Draft7Validator(openclaw_schema)
    peak = 0
    for i in range(300):
        config = {"gateway": {"port": i, "mode": "local", "bogus": "x" * (i % 97)},
                  "logging": {"level": "info" if i % 2 else "loud"}}
        got = sorted((tuple(map(str, e.path)), e.message) for e in validator.iter_errors(config))
        want = sorted((tuple(map(str, e.absolute_path)), e.message)
                      for e in plain.iter_errors(config))
        assert got == want  # verdicts stay exact across clears
        assert validator.memo_bytes == _counted(validator)
        assert validator.memo_bytes <= bound
        peak = max(peak, validator.memo_bytes)
    assert peak > bound // 2  # the memo did fill up, so the bound was exercised


def test_nothing_identity_keyed_survives_a_call(openclaw_schema: dict[str, Any]) -> None:
    files = {"t.yaml": TEMPLATE,
             "f.yaml": fleet(bots=[{"name": f"bot-{i}", "config": {"gateway": {"port": 1000 + i}}}
                                   for i in range(5)])}
    bots = list(render(files).values())
    validator = validator_for(openclaw_schema)

    # The part-by-part walk does record verdicts by identity while it runs ...
    bot = bots[0]
    list(validator.iter_section_errors(bot.section_json, bot.section_values))
    assert any(node.valid_objects for node in validator._nodes.values())

    # ... and a whole call leaves none behind, while keeping its (content-keyed) verdicts.
    assert check_openclaw_schema(bots, {"2026.9.6": openclaw_schema}) == []
    assert validator_for(openclaw_schema) is validator
    assert all(not node.valid_objects for node in validator._nodes.values())
    assert any(node.memo for node in validator._nodes.values())
    assert validator.memo_bytes == _counted(validator)


def test_identity_verdicts_are_dropped_even_when_the_check_fails(
        openclaw_schema: dict[str, Any]) -> None:
    files = {"t.yaml": TEMPLATE, "f.yaml": fleet()}
    bots = list(render(files).values())
    validator = validator_for(openclaw_schema)
    list(validator.iter_section_errors(bots[0].section_json, bots[0].section_values))

    class Boom(Exception):
        pass

    class Exploding(dict[str, Any]):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise Boom

    with pytest.raises(Boom):
        check_openclaw_schema(bots, Exploding({"2026.9.6": openclaw_schema}))
    assert all(not node.valid_objects for node in validator._nodes.values())
