"""The vendored OpenClaw config schemas (schemas/openclaw/) are exactly what the gateways report.

Each file is the ``schema`` object of ``config.schema`` as written by
scripts/fetch_openclaw_schema.py; against a real gateway this catches a stale or hand-edited file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import GatewayUnderTest

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "openclaw"
VENDORED = sorted(p for p in SCHEMAS.glob("*.json") if not p.name.endswith(".meta.json"))


def test_the_supported_versions_are_vendored() -> None:
    names = {p.stem for p in VENDORED}
    assert {"2026.9.6", "2026.3.31"} <= names


@pytest.mark.parametrize("path", VENDORED, ids=[p.stem for p in VENDORED])
def test_vendored_schema_is_in_the_fetch_scripts_format(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    schema = json.loads(text)
    assert text == json.dumps(schema, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    meta = json.loads((path.parent / f"{path.stem}.meta.json").read_text(encoding="utf-8"))
    assert meta["version"] == path.stem
    assert meta["fetchedBy"] == "scripts/fetch_openclaw_schema.py"


@pytest.mark.asyncio(loop_scope="session")
async def test_gateway_reports_the_vendored_schema(gateway: GatewayUnderTest) -> None:
    vendored = json.loads((SCHEMAS / f"{gateway.version}.json").read_text(encoding="utf-8"))
    async with gateway.client() as client:
        payload = await client.config_schema()
    assert payload["version"] == gateway.version
    assert payload["schema"] == vendored
