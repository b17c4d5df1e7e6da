"""Document JSON Schemas: draft-07 only, up to date in schemas/, and agreeing with the loader."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from molthub_gitops.cli.schema_command import schema_command
from molthub_gitops.model.documents import DOCUMENT_KINDS
from molthub_gitops.model.jsonschemas import (
    DRAFT_07,
    FORBIDDEN_KEYWORDS,
    document_schemas,
    schema_file_name,
    serialize_schema,
)
from molthub_gitops.model.yamlsource import parse_yaml
from molthub_gitops.repo.resources import (
    example_repo_dir,
    schemas_dir,
    stale_schema_files,
    write_schema_files,
)

from .conftest import FIXTURES

SCHEMAS = document_schemas()


def walk(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.append(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def test_one_schema_per_kind_and_one_for_any_document() -> None:
    assert set(SCHEMAS) == {schema_file_name(k) for k in DOCUMENT_KINDS} | {"molthub.schema.json"}
    assert "policyexception.schema.json" in SCHEMAS


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schemas_are_valid_draft_07_with_nothing_newer(name: str) -> None:
    schema = SCHEMAS[name]
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_07
    assert schema["$id"] == f"https://molthub.dev/schemas/v1/{name}"
    for node in walk(schema):
        # property names may be anything; keywords may not be newer than draft-07
        keys = set(node) - set(node.get("properties", {}) if isinstance(node, dict) else ())
        assert not (FORBIDDEN_KEYWORDS & set(keys)), name
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/definitions/"), ref
            assert ref.removeprefix("#/definitions/") in schema["definitions"]  # type: ignore[operator]


def test_field_descriptions_are_kept() -> None:
    fleet = SCHEMAS["fleet.schema.json"]
    spec = fleet["definitions"]["FleetSpec"]["properties"]
    assert spec["openclawVersion"]["description"].startswith("OpenClaw version the bots run")
    # a $ref with a description is wrapped in allOf (draft-07 ignores $ref siblings)
    assert spec["gateway"]["allOf"] == [{"$ref": "#/definitions/GatewayAccess"}]
    assert spec["gateway"]["description"].startswith("How the engine reaches")
    assert fleet["additionalProperties"] is False


def test_checked_in_schemas_are_up_to_date() -> None:
    folder = schemas_dir()
    stale = [name for name, schema in SCHEMAS.items()
             if not (folder / name).is_file()
             or (folder / name).read_text(encoding="utf-8") != serialize_schema(schema)]
    assert not stale, f"schemas/ is out of date ({', '.join(stale)}): run `molthub schema`"


def documents(root: Path) -> list[tuple[str, dict[str, object]]]:
    found = []
    for path in sorted(root.rglob("*.y*ml")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel.startswith("docs/"):
            continue
        if path.name.endswith(".draft.yaml"):
            continue
        for doc in parse_yaml(path.read_bytes(), rel):  # the YAML 1.2 the loader reads
            if doc.data is not None:
                found.append((rel, doc.data))
    return found


def test_example_documents_validate() -> None:
    docs = documents(FIXTURES / "good")
    example = example_repo_dir()
    docs += [(f"example-repo/{rel}", d) for rel, d in documents(example)]
    assert len(docs) >= 10
    any_doc = jsonschema.Draft7Validator(SCHEMAS["molthub.schema.json"])
    for rel, doc in docs:
        assert not [e.message for e in any_doc.iter_errors(doc)], rel
        kind = jsonschema.Draft7Validator(SCHEMAS[schema_file_name(str(doc["kind"]))])
        assert not [e.message for e in kind.iter_errors(doc)], rel


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"apiVersion": "molthub/v1", "kind": "Widget"}, "is not one of"),
        ({"apiVersion": "molthub/v2", "kind": "Fleet"}, "was expected"),
        ({"apiVersion": "molthub/v1", "kind": "Template", "metadata": {"name": "t"},
          "spec": {"confg": {}}}, "Additional properties are not allowed"),
        ({"apiVersion": "molthub/v1", "kind": "Fleet", "metadata": {"name": "f"},
          "spec": {"environment": "dev", "template": "t", "gateway": {"url": "x"}}},
         "'openclawVersion' is a required property"),
    ],
)
def test_any_document_schema_rejects_what_the_loader_rejects(
    doc: dict[str, object], words: str
) -> None:
    errors = [e.message for e in jsonschema.Draft7Validator(
        SCHEMAS["molthub.schema.json"]).iter_errors(doc)]
    assert any(words in m for m in errors), errors


def test_schema_command_writes_atomically_and_stably(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(schema_command, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(SCHEMAS)  # no temporary files left behind
    text = (out / "fleet.schema.json").read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == SCHEMAS["fleet.schema.json"]
    assert text == json.dumps(SCHEMAS["fleet.schema.json"], indent=2, sort_keys=True) + "\n"
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = CliRunner().invoke(schema_command, ["--out", str(out)])
    assert again.exit_code == 0
    assert "up to date" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_schema_command_check_reports_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    CliRunner().invoke(schema_command, ["--out", str(out)])
    assert CliRunner().invoke(schema_command, ["--out", str(out), "--check"]).exit_code == 0
    (out / "fleet.schema.json").write_text("{}\n")
    (out / "overlay.schema.json").unlink()
    result = CliRunner().invoke(schema_command, ["--out", str(out), "--check"])
    assert result.exit_code == 1
    assert "fleet.schema.json: out of date; run `molthub schema`" in result.output
    assert "overlay.schema.json" in result.output


def test_schema_command_unwritable_target_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(schema_command, ["--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "error[unwritable]" in result.output
    assert "Traceback" not in result.output


def test_schema_command_reports_through_the_shared_guard(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(schema_command, ["--out", str(blocker / "sub"), "--debug"])
    assert result.exit_code == 2
    assert "error[unwritable]" in result.output
    assert "1 problem found" in result.output  # printed by command_guard
    stale = CliRunner().invoke(schema_command, ["--out", str(tmp_path / "none"), "--check"])
    assert stale.exit_code == 1
    assert not (tmp_path / "none").exists()


def test_a_garbled_schema_file_is_stale_not_a_crash(tmp_path: Path) -> None:
    write_schema_files(tmp_path)
    (tmp_path / "fleet.schema.json").write_bytes(b"\xff\xfe not utf-8")
    assert stale_schema_files(tmp_path) == ["fleet.schema.json"]
    write_schema_files(tmp_path)
    assert stale_schema_files(tmp_path) == []
