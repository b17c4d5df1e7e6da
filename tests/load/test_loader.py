"""load_files / load_directory: selection, validation messages, cross-checks, determinism."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from molthub_gitops.errors import InputError, Location, Problem
from molthub_gitops.model.documents import Fleet
from molthub_gitops.model.loader import compile_globs, is_document_file, load_files
from molthub_gitops.repo.load import load_directory

from .conftest import FIXTURES

REPO = """\
apiVersion: molthub/v1
kind: Repository
metadata:
  name: r
spec:
  openclawVersions: ["2026.9.6"]
"""
TEMPLATE = """\
apiVersion: molthub/v1
kind: Template
metadata:
  name: base
spec:
  config:
    gateway: {mode: local}
"""


def fleet(name: str = "dev", *, extra: str = "", bots: tuple[str, ...] = ("a-1",)) -> str:
    text = (
        "apiVersion: molthub/v1\nkind: Fleet\nmetadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  environment: dev\n"
        "  template: base\n"
        '  openclawVersion: "2026.9.6"\n'
        "  gateway: {url: 'ws://x:1', auth: token, secret: {env: GW_TOKEN}}\n"
        f"{extra}"
        "  bots:\n"
    )
    return text + "".join(f"    - name: {b}\n" for b in bots)


def files(**over: str | None) -> dict[str, bytes]:
    base: dict[str, str | None] = {
        "molthub.yaml": REPO, "templates/base.yaml": TEMPLATE, "fleets/dev.yaml": fleet()}
    base.update({k.replace("__", "/").replace("_dot_", "."): v for k, v in over.items()})
    return {k: v.encode() for k, v in base.items() if v is not None}


def load_problems(content: dict[str, bytes], given: tuple[Problem, ...] = ()) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_files(content, source="test", problems=given)
    return list(info.value.problems)


def brief(found: list[Problem]) -> list[tuple[str, str]]:
    return [(p.code, str(p.location)) for p in found]


# --------------------------------------------------------------------------- the happy path


def test_good_repository_loads_every_kind_in_name_order() -> None:
    repo = load_directory(FIXTURES / "good")
    assert repo.source == str(FIXTURES / "good")
    assert repo.repository.name == "good"
    assert repo.repository.file == "molthub.yaml"
    assert list(repo.templates) == ["assistant", "support"]
    assert list(repo.profiles) == ["baseline", "hardening"]
    assert list(repo.overlays) == ["eu-region"]
    assert list(repo.fleets) == ["assistant-prod", "support-dev", "support-prod"]
    assert list(repo.policy_packs) == ["team-rules"]
    assert list(repo.policy_exceptions) == ["dev-elevated"]
    prod = repo.fleets["support-prod"]
    assert isinstance(prod.doc, Fleet)
    assert prod.file == "fleets/prod/support.yaml"
    assert prod.index == 0
    assert repo.fleets["assistant-prod"].index == 2  # after the empty document
    assert prod.doc.spec.rollout.canary is not None
    assert prod.doc.spec.rollout.canary.bots == ["support-prod-a"]
    support = repo.templates["support"].doc.spec
    assert support.config["channels"]["telegram"]["streaming"] == "off"  # YAML 1.2: a string
    assert support.config["channels"]["telegram"]["allowFrom"] == [12345, "@ops"]


def test_positions_of_loaded_documents() -> None:
    repo = load_directory(FIXTURES / "good")
    prod = repo.fleets["support-prod"]
    assert prod.loc("spec", "bots", 1, "name") == Location("fleets/prod/support.yaml", 24, 7)
    assert prod.loc("spec", "bots", 0, "labels", "tier") == Location(
        "fleets/prod/support.yaml", 23, 16)
    assert prod.loc("spec", "rollout", "canary", "bake") == Location(
        "fleets/prod/support.yaml", 18, 38)
    # a path with no entry of its own falls back to its nearest ancestor
    assert prod.loc("spec", "rollout", "healthTimeout") == Location(
        "fleets/prod/support.yaml", 16, 3)
    assert prod.loc() == Location("fleets/prod/support.yaml", 1, 1)
    tpl = repo.templates["support"]
    assert tpl.loc("spec", "config", "channels", "telegram", "allowFrom", 1) == Location(
        "templates/support.yaml", 26, 28)
    assert repo.templates["assistant"].loc() == Location("templates/support.yaml", 28, 1)


def test_hidden_and_excluded_paths_are_skipped() -> None:
    # fixtures/good holds docs/notes.yaml and fleets/wip.draft.yaml (both invalid YAML,
    # excluded by spec.exclude) and .github/workflows/ci.yml (hidden): none is read.
    repo = load_directory(FIXTURES / "good")
    assert repo.repository.doc.spec.exclude == ["docs/**", "**/*.draft.yaml"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("fleets/a.yaml", True), ("fleets/a.yml", True), ("A.YAML", True),
        ("fleets/a.json", False), ("README.md", False), (".github/x.yml", False),
        ("fleets/.hidden.yaml", False), ("a/.b/c.yaml", False),
        ("docs/x.yaml", False), ("docs/deep/x.yaml", False), ("docsx/x.yaml", True),
        ("fleets/x.draft.yaml", False), ("x.draft.yaml", False), ("vendor/a.yaml", False),
        ("fleets/vendor/a.yaml", True),
    ],
)
def test_document_file_selection(path: str, expected: bool) -> None:
    exclude = compile_globs(["docs/**", "**/*.draft.yaml", "vendor"])
    assert is_document_file(path, exclude) is expected


def test_load_is_deterministic_whatever_the_input_order() -> None:
    content = files(
        fleets__b_dot_yaml=fleet("b-fleet", bots=("b-1", "b-2")),
        fleets__a_dot_yaml=fleet("a-fleet", bots=("a-2",)),
    )
    content.pop("fleets/dev.yaml")
    first = load_files(content, source="s")
    items = list(content.items())
    random.Random(7).shuffle(items)
    second = load_files(dict(items), source="s")
    assert first == second
    assert list(first.fleets) == list(second.fleets) == ["a-fleet", "b-fleet"]
    for name in first.fleets:
        assert dict(first.fleets[name].positions) == dict(second.fleets[name].positions)


# --------------------------------------------------------------------------- documents


def test_unknown_kind_and_apiversion_list_the_known_ones() -> None:
    found = load_problems(files(
        x_dot_yaml="apiVersion: molthub/v1\nkind: Flet\nmetadata: {name: x}\n",
        y_dot_yaml="kind: Fleet\napiVersion: v1\n",
        z_dot_yaml="apiVersion: molthub/v1\nmetadata: {name: z}\n",
    ))
    assert brief(found) == [
        ("unknown-kind", "x.yaml:2:1"), ("unknown-apiversion", "y.yaml:2:1"),
        ("unknown-kind", "z.yaml:1:1")]
    assert found[0].message == "unknown kind 'Flet'; did you mean 'Fleet'?"
    assert "Repository, Template, Profile, Overlay, Fleet, PolicyPack, PolicyException" in (
        found[0].hint)
    assert found[1].message == "unknown apiVersion 'v1'; the known one is 'molthub/v1'"
    assert found[2].message == "missing kind"


def test_a_document_must_be_a_mapping() -> None:
    found = load_problems(files(x_dot_yaml="- a\n- b\n"))
    assert brief(found) == [("schema-violation", "x.yaml:1:1")]
    assert "must be a mapping" in found[0].message


def test_unknown_field_suggests_the_closest_and_lists_known_fields() -> None:
    found = load_problems(files(fleets__dev_dot_yaml=fleet(extra="  rollot: {}\n")))
    assert brief(found) == [("schema-violation", "fleets/dev.yaml:10:3")]
    assert found[0].message == "unknown field 'rollot' in spec; did you mean 'rollout'?"
    assert found[0].hint.startswith("known fields: description, environment, template")


def test_snake_case_names_are_unknown_fields() -> None:
    text = fleet().replace("openclawVersion", "openclaw_version")
    found = load_problems(files(fleets__dev_dot_yaml=text))
    messages = {p.message for p in found}
    assert "unknown field 'openclaw_version' in spec; did you mean 'openclawVersion'?" in messages
    assert "missing required field 'openclawVersion' in spec" in messages


def test_wrong_types_and_values_are_located_at_the_value() -> None:
    extra = ("  rollout:\n    failureThreshold: many\n    batch: 0%\n"
             "  target: {provider: kubernetes}\n")
    found = load_problems(files(fleets__dev_dot_yaml=fleet(extra=extra)))
    by_line = {p.location.line if p.location else 0: p.message for p in found}
    assert by_line[11].startswith("spec.rollout.failureThreshold: Input should be a valid integer")
    assert "(got 'many')" in by_line[11]
    assert by_line[12] == ("spec.rollout.batch: a batch is a count (5) or a percentage from 1% "
                           "to 100% ('10%') (got '0%')")
    assert by_line[13].startswith("spec.target.provider: Input should be 'existing'")


def test_bad_names_get_a_readable_message() -> None:
    found = load_problems(files(fleets__dev_dot_yaml=fleet(bots=("Bad_Name",))))
    assert brief(found) == [("schema-violation", "fleets/dev.yaml:11:7")]
    assert "spec.bots[0].name: must be a DNS-label name" in found[0].message


def test_union_errors_are_reduced_to_the_useful_one() -> None:
    text = TEMPLATE.replace(
        "spec:\n",
        "spec:\n  mergeStrategies:\n    a.b: bogus\n    c.d: {mergeby: id}\n")
    found = load_problems(files(templates__base_dot_yaml=text))
    assert brief(found) == [
        ("schema-violation", "templates/base.yaml:7:5"),
        ("schema-violation", "templates/base.yaml:8:5"),
        ("schema-violation", "templates/base.yaml:8:11")]
    assert found[0].message == ("spec.mergeStrategies.a.b: Input should be 'replace', 'append', "
                                "'prepend' or 'union' (got 'bogus')")
    assert found[1].message.startswith("missing required field 'mergeBy'")
    assert found[2].message.startswith("unknown field 'mergeby'")
    assert "did you mean 'mergeBy'?" in found[2].message


def test_secret_looking_values_are_not_echoed() -> None:
    text = fleet().replace("secret: {env: GW_TOKEN}", "secret: {env: GW_TOKEN, token: s3cr3t}")
    found = load_problems(files(fleets__dev_dot_yaml=text))
    assert found
    assert all("s3cr3t" not in p.format() for p in found)
    text = fleet().replace("secret: {env: GW_TOKEN}", "secret: {env: 12345678}")
    found = load_problems(files(fleets__dev_dot_yaml=text))
    assert all("12345678" not in p.format() for p in found)


# --------------------------------------------------------------------------- cross-checks


def test_missing_repository_file() -> None:
    found = load_problems(files(molthub_dot_yaml=None))
    assert brief(found) == [("missing-repository", "molthub.yaml")]


def test_repository_in_the_wrong_place_and_twice() -> None:
    found = load_problems(files(
        molthub_dot_yaml=REPO + "---\n" + REPO.replace("name: r", "name: s"),
        other__repo_dot_yaml=REPO))
    assert brief(found) == [("duplicate-name", "molthub.yaml:8:1"),
                            ("misplaced-repository", "other/repo.yaml:1:1")]


def test_molthub_yaml_without_a_repository_document() -> None:
    found = load_problems(files(molthub_dot_yaml=TEMPLATE.replace("name: base", "name: t2")))
    assert brief(found) == [("missing-repository", "molthub.yaml:1")]


def test_duplicate_names_name_both_places() -> None:
    found = load_problems(files(templates__copy_dot_yaml=TEMPLATE))
    assert brief(found) == [("duplicate-name", "templates/copy.yaml:4:3")]
    assert found[0].message == ("Template 'base' is defined twice "
                                "(first in templates/base.yaml:4:3)")
    assert found[0].related == (Location("templates/base.yaml", 4, 3),)


def test_bot_names_are_unique_across_fleets() -> None:
    found = load_problems(files(fleets__b_dot_yaml=fleet("other", bots=("x-1", "a-1"))))
    assert brief(found) == [("duplicate-name", "fleets/b.yaml:12:7")]
    assert found[0].message == "bot 'a-1' is defined twice (first at fleets/dev.yaml:11:7)"
    assert found[0].related == (Location("fleets/dev.yaml", 11, 7),)


def test_missing_references_suggest_close_names() -> None:
    text = fleet(extra="  profiles: [baselin]\n").replace("template: base", "template: bsae")
    text += "      profiles: [baseline, nope]\n"
    profile = ("apiVersion: molthub/v1\nkind: Profile\nmetadata: {name: baseline}\n"
               "spec: {config: {}}\n")
    found = load_problems(files(fleets__dev_dot_yaml=text, profiles__p_dot_yaml=profile))
    assert brief(found) == [
        ("missing-template", "fleets/dev.yaml:7:3"),
        ("missing-profile", "fleets/dev.yaml:10:14"),
        ("missing-profile", "fleets/dev.yaml:13:28")]
    assert found[0].message == "template 'bsae' does not exist; did you mean 'base'?"
    assert found[1].message == "profile 'baselin' does not exist; did you mean 'baseline'?"
    assert found[2].message == "profile 'nope' does not exist"
    assert found[2].hint == "known profiles: baseline"


def test_openclaw_version_must_be_allowed() -> None:
    found = load_problems(files(fleets__dev_dot_yaml=fleet().replace("2026.9.6", "2025.1.1")))
    assert brief(found) == [("unknown-openclaw-version", "fleets/dev.yaml:8:3")]
    assert "spec.openclawVersions: 2026.9.6" in found[0].message


def test_policy_packs_must_exist() -> None:
    repo = REPO + "  policy: {packs: [security-baseline, production-guardrails, team]}\n"
    found = load_problems(files(molthub_dot_yaml=repo))
    assert brief(found) == [("unknown-policy-pack", "molthub.yaml:7:62")]
    pack = ("apiVersion: molthub/v1\nkind: PolicyPack\nmetadata: {name: team}\n"
            "spec: {rules: []}\n")
    loaded = load_files(files(molthub_dot_yaml=repo, p_dot_yaml=pack), source="s")
    assert list(loaded.policy_packs) == ["team"]


def test_every_problem_of_the_repository_at_once_with_reader_problems() -> None:
    given = (Problem("symlink-outside", "link", Location("fleets/l.yaml", 1)),)
    found = load_problems(files(
        a_dot_yaml="a: [\n",
        b_dot_yaml="apiVersion: molthub/v1\nkind: Nope\n",
        fleets__dev_dot_yaml=fleet(extra="  bogus: 1\n"),
        fleets__x_dot_yaml=fleet("x", bots=("x-1",)).replace("template: base", "template: zz"),
        fleets__y_dot_yaml=fleet("y", bots=("x-1",)),
    ), given)
    assert brief(found) == [
        ("yaml-syntax", "a.yaml:2:1"), ("unknown-kind", "b.yaml:2:1"),
        ("schema-violation", "fleets/dev.yaml:10:3"), ("symlink-outside", "fleets/l.yaml:1"),
        ("duplicate-name", "fleets/y.yaml:11:7")]
    # with a file that cannot be parsed, a missing template may live in it: not reported
    assert "missing-template" not in {p.code for p in found}


def test_references_into_documents_that_failed_are_not_reported_missing() -> None:
    broken_template = TEMPLATE.replace("spec:", "spec:\n  bogus: 1")
    found = load_problems(files(templates__base_dot_yaml=broken_template))
    assert brief(found) == [("schema-violation", "templates/base.yaml:6:3")]
    latin1 = TEMPLATE.replace("config:", "description: caf\xe9\n  config:").encode("latin-1")
    content = files()
    content["templates/base.yaml"] = latin1
    found = load_problems(content)
    assert brief(found) == [("non-utf8", "templates/base.yaml:6:19")]


def test_reader_problems_alone_fail_the_load() -> None:
    given = (Problem("large-file", "too big", Location("big.yaml", 1)),)
    assert brief(load_problems(files(), given)) == [("large-file", "big.yaml:1")]


def test_load_directory_rejects_missing_and_non_directories(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_directory(tmp_path / "nope")
    assert info.value.problems[0].code == "not-found"
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError) as info:
        load_directory(tmp_path / "f")
    assert info.value.problems[0].code == "not-a-directory"
