"""The YAML emitter of `molthub render`: exact layout, and lossless for every JSON value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from molthub_gitops.cli.formats import yaml_stream
from molthub_gitops.model.yamlsource import parse_yaml

NASTY = [
    "", " ", " lead", "trail ", "a b", "yes", "No", "ON", "off", "null", "Null", "~", "y", "N",
    "true", "FALSE", "1", "-1", "+1", "1.5", "1.", "0x1f", "0o17", "017", "1e5", "1_000",
    "2026-01-01", "2026-01-01T10:00:00Z", "12:30", "-", "- a", "a: b", "a:b", "a #b", "#x",
    "@x", "`x", "!x", "&x", "*x", "|", "> x", "%x", "'q'", '"q"', "a\nb", "a\r\nb", "tab\tx",
    "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x1b[31m", "é", "🛟", "日本",
    "\\", "a\\nb", "{x}", "[x]", "x,y", "?x", ".inf", ".NaN", "<<", "=", "${VAR}",
    "{{ bot.name }}", "ws://host:18789", "a/b.c-d_e", "A", "Z9", "\ud7ff", "\ue000",
]
FLOATS = [1e-05, 1e20, 2.0, -0.5, 1.5e-300, 123456789.123, 0.1]


def _roundtrips(data: dict[str, Any]) -> None:
    text = yaml_stream([data])
    assert yaml.safe_load(text) == data  # a YAML 1.1 reader (PyYAML)
    [doc] = parse_yaml(text.encode("utf-8"), "render.yaml")  # molthub's own YAML 1.2 reader
    assert doc.data == data


def test_nasty_strings_as_values_and_keys() -> None:
    _roundtrips({"values": NASTY, "keys": {s: i for i, s in enumerate(NASTY)}})


@pytest.mark.parametrize("text", NASTY)
def test_each_nasty_string(text: str) -> None:
    _roundtrips({"v": text, text: [text]})


def test_numbers_booleans_null_and_empty_containers() -> None:
    _roundtrips({
        "ints": [0, -1, 2**63, 18789], "floats": FLOATS, "flags": [True, False, None],
        "empty": [{}, [], [[]], [{}]], "map": {}, "list": [],
    })


def test_nesting_layout() -> None:
    data = {"a": {"b": [{"c": 1, "d": [1, 2]}, [3, [4]]]}, "e": "🛟 x", "f": {}}
    assert yaml_stream([data, {}]) == (
        "---\n"
        "a:\n"
        "  b:\n"
        "  - c: 1\n"
        "    d:\n"
        "    - 1\n"
        "    - 2\n"
        "  - - 3\n"
        "    - - 4\n"
        'e: "🛟 x"\n'
        "f: {}\n"
        "---\n"
        "{}\n"
    )
    assert yaml_stream([]) == ""


def test_unprintable_characters_are_escaped() -> None:
    text = yaml_stream([{"k": "a\x85b\u2028c\x7f"}])
    assert text == '---\nk: "a\\u0085b\\u2028c\\u007f"\n'


def test_non_json_values_are_refused() -> None:
    with pytest.raises(TypeError):
        yaml_stream([{"k": object()}])
