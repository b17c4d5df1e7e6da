"""parse_yaml: YAML 1.2 scalars, positions, anchors, merge keys, and every way a file is bad."""

from __future__ import annotations

import math

import pytest
import yaml

from molthub_gitops.errors import InputError, Location
from molthub_gitops.model.yamlsource import Limits, parse_yaml, resolve_plain_scalar


def one(text: str) -> object:
    docs = parse_yaml(text.encode(), "f.yaml")
    assert len(docs) == 1
    return docs[0].data


def problems(data: bytes, limits: Limits | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(InputError) as info:
        parse_yaml(data, "bad.yaml", limits=limits or Limits())
    return [(p.code, str(p.location), p.message) for p in info.value.problems]


# --------------------------------------------------------------------------- scalars

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("True", True), ("TRUE", True),
        ("false", False), ("False", False), ("FALSE", False),
        ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None),
        ("0", 0), ("-17", -17), ("+4", 4), ("012", 12), ("0o17", 15), ("0x1F", 31),
        ("1.5", 1.5), ("-0.5e3", -500.0), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0),
        (".inf", math.inf), ("-.Inf", -math.inf),
        # YAML 1.1 booleans and other 1.1-isms stay strings under 1.2 core:
        ("on", "on"), ("off", "off"), ("On", "On"), ("OFF", "OFF"), ("yes", "yes"),
        ("no", "no"), ("y", "y"), ("n", "n"), ("Yes", "Yes"), ("tRuE", "tRuE"),
        ("2024-01-31", "2024-01-31"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("1_000", "1_000"), ("0b101", "0b101"), ("0o8", "0o8"), ("0xG", "0xG"),
        ("2026.9.6", "2026.9.6"), ("12:30:00", "12:30:00"), ("+", "+"), ("-x", "-x"),
        ("1e", "1e"), ("0x", "0x"), ("nulls", "nulls"), ("~x", "~x"),
    ],
)
def test_plain_scalars_resolve_per_yaml_1_2_core(text: str, expected: object) -> None:
    value = one(f"v: {text}\n")
    assert isinstance(value, dict)
    got = value["v"]
    assert type(got) is type(expected)
    assert got == expected
    if text:
        assert resolve_plain_scalar(text) == expected


def test_nan_is_a_float() -> None:
    value = one("v: .NaN\n")
    assert isinstance(value, dict)
    assert math.isnan(value["v"])


def test_quoted_and_block_scalars_are_strings() -> None:
    assert one("a: 'true'\nb: \"12\"\nc: |\n  on\nd: >-\n  null\n") == {
        "a": "true", "b": "12", "c": "on\n", "d": "null"}


def test_explicit_tags() -> None:
    assert one("a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!bool 'true'\ne: !!null ''\n"
               "f: ! 12\ng: !!map {x: 1}\nh: !!seq [1]\n") == {
        "a": "12", "b": 7, "c": 1.0, "d": True, "e": None, "f": "12",
        "g": {"x": 1}, "h": [1]}


def test_unsupported_and_mismatched_tags_are_reported_not_run() -> None:
    found = problems(b"a: !!python/object:os.system x\nb: !Ref y\nc: !!int nope\n"
                     b"d: !!binary aGk=\ne: !!set {x}\n")
    assert [(c, loc) for c, loc, _ in found] == [
        ("unsupported-tag", "bad.yaml:1:4"), ("unsupported-tag", "bad.yaml:2:4"),
        ("unsupported-tag", "bad.yaml:3:4"), ("unsupported-tag", "bad.yaml:4:4"),
        ("unsupported-tag", "bad.yaml:5:4")]
    assert "!!python/object:os.system" in found[0][2]
    assert "'nope' is not a valid !!int" in found[2][2]


def test_keys_are_strings_as_written() -> None:
    assert one("200: ok\ntrue: yes\n~: x\n1.5: y\n") == {
        "200": "ok", "true": "yes", "~": "x", "1.5": "y"}


def test_collection_keys_are_rejected() -> None:
    found = problems(b"? [a, b]\n: 1\n")
    assert found[0][0] == "yaml-syntax"
    assert "must be a scalar" in found[0][2]


def test_same_values_as_pyyaml_for_plain_json_like_data() -> None:
    text = "a: [1, 2.5, x, 'y', {b: null}]\nc: {d: -3, e: text with spaces}\n"
    assert one(text) == yaml.load(text, Loader=yaml.CSafeLoader)


# --------------------------------------------------------------------------- positions


def test_positions_point_at_keys_and_items() -> None:
    text = (
        "# comment\n"
        "apiVersion: molthub/v1\n"
        "spec:\n"
        "  bots:\n"
        "    - name: a\n"
        "      config: {x: [10, 20]}\n"
        "    -   name: b\n"
    )
    doc = parse_yaml(text.encode(), "fleets/x.yaml")[0]
    pos = doc.positions
    assert pos[("apiVersion",)] == Location("fleets/x.yaml", 2, 1)
    assert pos[("spec",)] == Location("fleets/x.yaml", 3, 1)
    assert pos[("spec", "bots")] == Location("fleets/x.yaml", 4, 3)
    assert pos[("spec", "bots", 0)] == Location("fleets/x.yaml", 5, 7)
    assert pos[("spec", "bots", 0, "name")] == Location("fleets/x.yaml", 5, 7)
    assert pos[("spec", "bots", 0, "config", "x")] == Location("fleets/x.yaml", 6, 16)
    assert pos[("spec", "bots", 0, "config", "x", 1)] == Location("fleets/x.yaml", 6, 24)
    assert pos[("spec", "bots", 1)] == Location("fleets/x.yaml", 7, 9)
    assert pos[("spec", "bots", 1, "name")] == Location("fleets/x.yaml", 7, 9)
    assert pos[()].file == "fleets/x.yaml"


def test_every_path_of_the_data_has_a_position() -> None:
    text = "a: {b: [1, {c: d}], e: f}\ng: [[1, 2], []]\n"
    doc = parse_yaml(text.encode(), "f.yaml")[0]
    paths: set[tuple[str | int, ...]] = set()
    todo: list[tuple[tuple[str | int, ...], object]] = [((), doc.data)]
    while todo:
        path, value = todo.pop()
        paths.add(path)
        if isinstance(value, dict):
            todo.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend(((*path, i), v) for i, v in enumerate(value))
    assert paths == set(doc.positions)


def test_multiple_documents_have_indexes_and_their_own_positions() -> None:
    docs = parse_yaml(b"a: 1\n---\nb: 2\n---\n# only a comment\n---\n- c\n", "m.yaml")
    assert [d.index for d in docs] == [0, 1, 2, 3]
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}, None, ["c"]]
    assert docs[1].positions[("b",)] == Location("m.yaml", 3, 1)
    assert docs[3].positions[(0,)] == Location("m.yaml", 7, 3)
    assert all(d.file == "m.yaml" for d in docs)


# --------------------------------------------------------------------------- anchors


def test_aliases_expand_to_independent_copies() -> None:
    value = one("a: &x {k: [1, 2]}\nb: *x\n")
    assert isinstance(value, dict)
    assert value["a"] == value["b"] == {"k": [1, 2]}
    assert value["a"] is not value["b"]
    assert value["a"]["k"] is not value["b"]["k"]


def test_merge_keys_explicit_keys_win_earlier_sources_win() -> None:
    text = (
        "base: &base {a: 1, b: 2}\n"
        "more: &more {b: 20, c: 30}\n"
        "one:\n  <<: *base\n  b: 3\n"
        "two:\n  <<: [*more, *base]\n"
    )
    doc = parse_yaml(text.encode(), "f.yaml")[0]
    assert doc.data["one"] == {"a": 1, "b": 3}
    assert doc.data["two"] == {"b": 20, "c": 30, "a": 1}
    assert doc.positions[("one", "a")] == Location("f.yaml", 4, 3)  # the << key
    assert doc.positions[("one", "b")] == Location("f.yaml", 5, 3)


def test_quoted_merge_key_is_a_plain_key() -> None:
    assert one("'<<': 1\n") == {"<<": 1}


def test_merge_of_a_scalar_is_an_error() -> None:
    found = problems(b"a: &a 1\nb:\n  <<: *a\n")
    assert found[0][0] == "yaml-syntax"
    assert "merge key" in found[0][2]


def test_alias_bomb_fails_fast_with_a_clear_message() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    prev = "a"
    for name in "bcdefghijklmnop":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    found = problems("\n".join(lines).encode())
    assert len(found) == 1
    code, where, message = found[0]
    assert code == "alias-bomb"
    assert "more than 100,000 nodes" in message
    assert "billion laughs" in message
    assert where == "bad.yaml:6:8"  # the first alias that crosses the limit: *d inside e


def test_alias_limit_is_configurable_and_counts_every_expansion() -> None:
    text = b"a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"  # 3 expansions x 4 nodes = 12
    assert parse_yaml(text, "f.yaml", limits=Limits(max_alias_nodes=12))[0].data["b"] == [
        [1, 2, 3]] * 3
    found = problems(text, Limits(max_alias_nodes=11))
    assert found[0][:2] == ("alias-bomb", "bad.yaml:2:13")


def test_alias_cycle_is_an_error() -> None:
    found = problems(b"a: &a\n  b: *a\n")
    assert found == [("alias-bomb", "bad.yaml:2:6",
                      "alias *a refers to a node that contains it (an alias cycle)")]


def test_undefined_alias() -> None:
    found = problems(b"a: *nowhere\n")
    assert found[0][:2] == ("yaml-syntax", "bad.yaml:1:4")
    assert "*nowhere names no anchor" in found[0][2]


# --------------------------------------------------------------------------- limits and content


def test_nesting_at_the_limit_is_fine_and_one_deeper_fails() -> None:
    ok = b"[" * 64 + b"]" * 64
    assert parse_yaml(ok, "f.yaml")[0].data is not None
    found = problems(b"[" * 65 + b"]" * 65)
    assert found[0][:2] == ("deep-nesting", "bad.yaml:1:65")


def test_very_deep_nesting_never_recurses() -> None:
    found = problems(b"[" * 200_000 + b"]" * 200_000)
    assert found[0][0] == "deep-nesting"
    found = problems(b"".join(b"  " * i + b"k:\n" for i in range(500)))
    assert found[0][0] == "deep-nesting"


def test_size_limit() -> None:
    data = b"# " + b"x" * 100 + b"\n"
    assert parse_yaml(data, "f.yaml", limits=Limits(max_bytes=len(data))) == []
    found = problems(data, Limits(max_bytes=len(data) - 1))
    assert found[0][:2] == ("large-file", "bad.yaml:1")
    assert f"over the limit of {len(data) - 1:,} bytes" in found[0][2]


def test_binary_content() -> None:
    found = problems(b"a: 1\nb: 2\n\x00\x01")
    assert found == [("binary", "bad.yaml:3",
                      "file looks binary (it contains NUL bytes), not YAML text")]


def test_non_utf8_names_line_and_column() -> None:
    found = problems(b"a: 1\nb: caf\xe9\n")
    assert found[0][:2] == ("non-utf8", "bad.yaml:2:7")
    assert "0xe9" in found[0][2]


def test_utf16_is_reported_as_such() -> None:
    found = problems("a: 1\n".encode("utf-16"))
    assert found[0][0] == "non-utf8"
    assert "UTF-16" in found[0][2]


def test_utf8_bom_and_non_ascii_text_are_fine() -> None:
    assert one("\ufeffa: café ☕\n") == {"a": "café ☕"}


# --------------------------------------------------------------------------- all problems at once


def test_duplicate_keys_name_both_lines_and_all_are_reported() -> None:
    with pytest.raises(InputError) as info:
        parse_yaml(b"a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "d.yaml")
    found = info.value.problems
    assert [(p.code, str(p.location)) for p in found] == [
        ("duplicate-key", "d.yaml:4:3"), ("duplicate-key", "d.yaml:5:1")]
    assert found[0].message == "duplicate key 'c' (first at line 3)"
    assert found[0].related == (Location("d.yaml", 3, 3),)
    assert found[1].related == (Location("d.yaml", 1, 1),)


def test_problems_before_a_syntax_error_are_kept() -> None:
    found = problems(b"a: 1\na: 2\nb: [1,\n")
    assert [c for c, _, _ in found] == ["duplicate-key", "yaml-syntax"]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (b"a: b: c\n", "bad.yaml:1:5", "mapping values are not allowed"),
        (b"a:\n  - b\n c: d\n", "bad.yaml:3:2", "did not find expected key"),
        (b"a: 'open\n", "bad.yaml:2:1", "found unexpected end of stream"),
        (b"a: [1, 2\nb: 3\n", "bad.yaml:2:2", "did not find expected ',' or ']'"),
        (b"a:\tb\n\t- c\n", "bad.yaml:2:1", "found a tab character"),
    ],
)
def test_syntax_errors_have_line_and_column(text: bytes, where: str, words: str) -> None:
    found = problems(text)
    assert found[0][0] == "yaml-syntax"
    assert found[0][1] == where
    assert words in found[0][2]
