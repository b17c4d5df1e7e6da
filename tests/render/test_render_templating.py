"""Jinja2 in config strings: context, native types, ${VAR}, errors, the sandbox, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from molthub_gitops.render import templating
from molthub_gitops.render.templating import (
    TemplateFailure,
    compile_string,
    render_compiled,
    render_text,
)

from .helpers import fleet, line_of, problems, profile, render, render_one, template, where

CTX = {"bot": {"name": "b1", "labels": {"tier": "canary"}, "fleet": "f", "environment": "dev"},
       "fleet": {"name": "f", "environment": "dev", "labels": {}},
       "params": {"port": 18789, "ids": ["1", "2"], "obj": {"a": 1}, "nothing": None}}


def _render(source: str) -> object:
    return render_compiled(compile_string(source), CTX)


def test_context_and_native_types() -> None:
    assert _render("{{ params.port }}") == 18789
    assert _render("{{ params.ids }}") == ["1", "2"]
    assert _render("{{ params.obj }}") == {"a": 1}
    assert _render("{{ params.port > 1 }}") is True
    assert _render("{{ (1, 2) }}") == [1, 2]
    assert _render("{{ params.nothing }}") is None
    assert _render("port {{ params.port }}") == "port 18789"
    assert _render("{{ params.port }}{{ params.port }}") == "1878918789"
    assert _render("{{- bot.name -}}") == "b1"
    assert _render("{{ bot.name }}/{{ bot.labels.tier }}/{{ fleet.name }}/{{ bot.environment }}") \
        == "b1/canary/f/dev"
    assert _render("{% if bot.labels.tier == 'canary' %}yes{% else %}no{% endif %}") == "yes"
    assert _render("{{ bot.name }}\n") == "b1\n"


def test_env_references_pass_through() -> None:
    assert _render("${TOKEN_{{ bot.name | upper }}}-${OTHER}") == "${TOKEN_B1}-${OTHER}"
    files = {
        "t.yaml": template(
            config={"a": "${PLAIN}", "b": "{{ bot.name }}:${X}", "c": "{ not jinja }"}),
        "f.yaml": fleet(),
    }
    assert render_one(files).config == {"a": "${PLAIN}", "b": "bot-a:${X}", "c": "{ not jinja }"}


@pytest.mark.parametrize(("source", "code"), [
    ("{{ nope }}", "render-jinja-undefined"),
    ("{{ bot.nope }}", "render-jinja-undefined"),
    ("x {{ params.missing }} y", "render-jinja-undefined"),
    ("{% if %}", "render-jinja-syntax"),
    ("{{ bot.name ", "render-jinja-syntax"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "render-jinja-sandbox"),
    ("x{{ ''.__class__ }}", "render-jinja-sandbox"),
    ("{{ bot.__init__ }}", "render-jinja-sandbox"),
    ("{{ params.ids.append('3') }}", "render-jinja-sandbox"),
    ("{{ 'a' * 100000000 }}", "render-jinja-sandbox"),
    ("{{ 7 ** 99999999 }}", "render-jinja-sandbox"),
    ("{{ 1 / 0 }}", "render-jinja-error"),
    ("{{ lipsum() }}", "render-jinja-undefined"),
    ("{{ [1, 2] | random }}", "render-jinja-syntax"),
    ("{{ range(3) }}", "render-jinja-error"),
])
def test_template_failures(source: str, code: str) -> None:
    with pytest.raises(TemplateFailure) as info:
        _render(source)
    assert info.value.code == code
    assert CTX["params"]["ids"] == ["1", "2"]  # the context is never modified


def test_sandbox_escape_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    attempts = [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
        f"{{{{ joiner.__init__.__globals__['os'].popen('touch {marker}').read() }}}}",
        f"{{{{ namespace.__init__.__globals__.os.system('touch {marker}') }}}}",
        "{{ self.__init__.__globals__ }}",
        "{{ bot.name.format.__globals__ }}",
        f"{{{{ ''.__class__.__base__.__subclasses__()[0]('touch {marker}') }}}}",
    ]
    for source in attempts:
        with pytest.raises(TemplateFailure) as info:
            _render(source)
        assert info.value.code in {"render-jinja-sandbox", "render-jinja-undefined"}, source
    assert not marker.exists()


def test_errors_point_at_the_string_and_name_the_bot() -> None:
    text = """\
    apiVersion: molthub/v1
    kind: Profile
    metadata: {name: p}
    spec:
      config:
        agents:
          defaults:
            workspace: "/data/{{ bot.nmae }}"
    """
    files = {"t.yaml": template(), "p.yaml": text,
             "f.yaml": fleet(profiles=["p"], bots=[{"name": "bot-a"}, {"name": "bot-b"}])}
    found = problems(files)
    assert [p.code for p in found] == ["render-jinja-undefined"]
    assert where(found[0]) == f"p.yaml:{line_of(text, 'workspace')}"
    assert found[0].message.startswith("bots bot-a, bot-b:")
    assert "agents.defaults.workspace" in found[0].message
    assert "nmae" in found[0].message


def test_sandbox_escape_in_a_repository_is_a_problem() -> None:
    files = {"t.yaml": template(config={"x": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}),
             "f.yaml": fleet()}
    found = problems(files)
    assert [p.code for p in found] == ["render-jinja-sandbox"]
    assert "Template/base" in found[0].message


def test_templating_happens_per_layer_before_merging() -> None:
    files = {
        "t.yaml": template(config={"gw": "{{ params.gw }}"}, parameters={
            "gw": {"type": "object", "default": {"port": 1, "bind": "loopback"}}}),
        "p.yaml": profile("p", {"gw": {"port": 2}}),
        "f.yaml": fleet(profiles=["p"]),
    }
    bot = render_one(files)
    # The expression gave a map, which the profile then merged into.
    assert bot.config == {"gw": {"port": 2, "bind": "loopback"}}
    assert bot.provenance[("gw", "bind")].document == "Template/base"
    assert bot.provenance[("gw", "port")].document == "Profile/p"


def test_native_null_deletes() -> None:
    files = {
        "t.yaml": template(config={"a": 1, "b": 2}, parameters={"opt": {"type": "object"}}),
        "p.yaml": profile("p", {"a": "{{ none }}"}),
        "f.yaml": fleet(profiles=["p"]),
    }
    assert render_one(files).config == {"b": 2}


def test_gateway_url_and_secret_env_are_rendered() -> None:
    files = {
        "t.yaml": template(),
        "f.yaml": fleet(
            gateway={"url": "ws://{{ bot.name }}.{{ fleet.environment }}.internal:18789",
                     "auth": "token",
                     "secret": {"env": "GW_{{ bot.name | upper | replace('-', '_') }}"}},
            bots=[{"name": "bot-a"},
                  {"name": "bot-b", "gatewayUrl": "wss://{{ bot.name }}.example"}],
        ),
    }
    bots = render(files)
    assert bots["bot-a"].gateway_url == "ws://bot-a.dev.internal:18789"
    assert bots["bot-a"].gateway.url == bots["bot-a"].gateway_url
    assert bots["bot-a"].gateway.secret is not None
    assert bots["bot-a"].gateway.secret.env == "GW_BOT_A"
    assert bots["bot-b"].gateway_url == "wss://bot-b.example"


def test_gateway_url_errors() -> None:
    files = {"t.yaml": template(), "f.yaml": fleet(
        gateway={"url": "ws://{{ bot.host }}:1", "auth": "none"})}
    found = problems(files)
    assert [p.code for p in found] == ["render-jinja-undefined"]
    assert "gateway URL" in found[0].message
    files = {"t.yaml": template(), "f.yaml": fleet(
        gateway={"url": "{{ bot.labels }}", "auth": "none"})}
    assert [p.code for p in problems(files)] == ["render-jinja-error"]
    assert render_text("{{ 1 > 0 }}", CTX) == "true"
    assert render_text("plain", CTX) == "plain"


def test_each_distinct_string_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    original = templating._compile

    def counting(source: str) -> templating.CompiledString:
        compiled.append(source)
        return original(source)

    monkeypatch.setattr(templating, "_compile", counting)
    monkeypatch.setattr(templating, "_CACHE", {})
    files = {
        "t.yaml": template(config={"w": "/data/{{ bot.name }}/unique-string-1"}),
        "f.yaml": fleet(bots=[{"name": f"bot-{i}"} for i in range(50)]),
    }
    bots = render(files)
    assert bots["bot-7"].config == {"w": "/data/bot-7/unique-string-1"}
    assert compiled.count("/data/{{ bot.name }}/unique-string-1") == 1
    assert compile_string("{{ 1 }}") is compile_string("{{ 1 }}")
