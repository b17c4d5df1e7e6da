"""run_validate / run_diff on real Git repositories (pygit2): stages, problems, the diff, and
reuse of the head's work for the base giving exactly what a full base render gives."""

from __future__ import annotations

import datetime
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from molthub_gitops.model.loader import DocumentCache
from molthub_gitops.render.engine import render_repository
from molthub_gitops.repo.load import load, load_revision
from molthub_gitops.repo.validate import (
    config_path_prefix,
    render_base,
    run_diff,
    run_validate,
    stale_fleets,
)
from molthub_gitops.report.outcome import EXIT_ACT, EXIT_INPUT, EXIT_OK

EXAMPLE = Path(__file__).resolve().parents[2] / "example-repo"
SIGNATURE = pygit2.Signature("Test", "test@example.com", 1_700_000_000, 0)
TODAY = datetime.date(2026, 11, 26)
TELEGRAM = "templates/telegram-support.yaml"


def commit_all(workdir: Path, message: str = "commit") -> str:
    """Commit every file under ``workdir`` (initialising a repository there if needed)."""
    if (workdir / ".git").exists():
        repo = pygit2.Repository(str(workdir))
    else:
        repo = pygit2.init_repository(str(workdir), initial_head="main")
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    return str(repo.create_commit("HEAD", SIGNATURE, SIGNATURE, message, tree, parents))


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """example-repo as the root of a Git repository, one commit."""
    dest = tmp_path / "repo"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".github"))
    commit_all(dest, "base")
    return dest


def bots_setting(root: Path, path: tuple[str | int, ...], document: str) -> set[str]:
    """Bots whose value at ``path`` comes from ``document`` (``Template/telegram-support``)."""
    bots = render_repository(load(root)).bots
    return {b.name for b in bots if path in b.provenance
            and b.provenance[path].document == document}


# --------------------------------------------------------------------------- happy paths


def test_validate_with_base_reports_the_template_change(repo: Path) -> None:
    edit(repo / TELEGRAM, "historyLimit: 50", "historyLimit: 60")
    commit_all(repo, "raise history limit")
    outcome = run_validate(repo, base="HEAD~1", head="HEAD", today=TODAY)
    assert outcome.problems == ()
    assert outcome.stage == "done"
    assert outcome.exit_code == EXIT_OK  # differences alone never fail validate
    assert outcome.policy is not None
    assert outcome.bots == 36
    assert len(outcome.fleets) == 9
    assert outcome.environments == ("dev", "prod", "staging")
    assert outcome.openclaw_versions == ("2026.9.6",)
    assert outcome.source == f"{repo}@HEAD"
    assert outcome.path_prefix == ""
    assert outcome.tool_version
    diff = outcome.diff
    assert diff is not None
    expected = bots_setting(repo, ("channels", "telegram", "historyLimit"),
                            "Template/telegram-support")
    assert expected
    assert {b.name for b in diff.bots} == expected
    assert diff.unchanged == 36 - len(diff.bots)
    assert re.fullmatch(r"HEAD~1 \([0-9a-f]{12}\)", diff.base)
    assert re.fullmatch(r"HEAD \([0-9a-f]{12}\)", diff.head)
    line = next(i for i, text in enumerate(
        (repo / TELEGRAM).read_text().splitlines(), 1) if "historyLimit: 60" in text)
    for bot in diff.bots:
        assert bot.kind == "changed"
        assert bot.other_changes == ()
        [change] = bot.changes
        assert (change.path, change.before, change.after) == (
            "channels.telegram.historyLimit", 50, 60)
        assert change.location is not None
        assert (change.location.file, change.location.line) == (TELEGRAM, line)
    assert {w.fleet for w in diff.waves} == {b.fleet for b in diff.bots}
    eu = next(w for w in diff.waves if w.fleet == "support-prod-eu")
    assert eu.strategy == "canary"
    assert eu.waves[0].kind == "canary"
    assert eu.waves[0].bots == ("support-eu-01", "support-eu-02")
    assert eu.waves[0].bake_seconds == 1800.0


def test_working_tree_head_against_a_commit(repo: Path) -> None:
    edit(repo / "overlays/region-eu.yaml", "userTimezone: Europe/Berlin",
         "userTimezone: Europe/Paris")
    outcome = run_validate(repo, base="HEAD", today=TODAY)
    assert outcome.stage == "done"
    assert outcome.source == str(repo)
    assert outcome.diff is not None
    assert outcome.diff.head == "working tree"
    changed = {b.name for b in outcome.diff.bots}
    assert changed
    assert all(
        c.path == "agents.defaults.userTimezone" and c.after == "Europe/Paris"
        for b in outcome.diff.bots for c in b.changes)
    assert changed == bots_setting(repo, ("agents", "defaults", "userTimezone"),
                                   "Overlay/region-eu")


def test_unchanged_repository_gives_an_empty_diff(repo: Path) -> None:
    outcome = run_diff(repo, base="HEAD")
    assert outcome.command == "diff"
    assert outcome.stage == "done"
    assert outcome.diff is not None
    assert outcome.diff.empty
    assert outcome.diff.unchanged == 36
    assert outcome.policy is None
    assert outcome.exit_code == EXIT_OK


def test_diff_exit_code_one_when_something_differs(repo: Path) -> None:
    edit(repo / TELEGRAM, "historyLimit: 50", "historyLimit: 70")
    commit_all(repo)
    outcome = run_diff(repo, base="HEAD~1", head="HEAD")
    assert outcome.exit_code == EXIT_ACT
    assert outcome.diff is not None
    assert not outcome.diff.empty
    assert run_diff(repo, base="HEAD", head="HEAD").exit_code == EXIT_OK


def test_fail_on_argument_beats_repository_setting(repo: Path) -> None:
    assert run_validate(repo, today=TODAY).fail_on == "error"  # molthub.yaml says error
    edit(repo / "molthub.yaml", "failOn: error", "failOn: warning")
    assert run_validate(repo, today=TODAY).fail_on == "warning"
    assert run_validate(repo, fail_on="info", today=TODAY).fail_on == "info"


def test_bad_fail_on_is_a_problem(repo: Path) -> None:
    outcome = run_validate(repo, fail_on="fatal")
    assert outcome.exit_code == EXIT_INPUT
    assert [p.code for p in outcome.problems] == ["bad-option"]


# --------------------------------------------------------------------------- failures


def test_unknown_base_revision_is_a_problem(repo: Path) -> None:
    outcome = run_validate(repo, base="no-such-branch", today=TODAY)
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.stage == "base"
    [problem] = outcome.problems
    assert problem.code == "unknown-revision"
    assert problem.message.startswith("base no-such-branch: ")
    assert "main" in problem.hint
    assert outcome.policy is not None  # the head was validated before the base failed
    assert outcome.bots == 36


def test_unknown_head_revision_is_a_load_problem(repo: Path) -> None:
    outcome = run_diff(repo, base="HEAD", head="nope")
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.stage == "load"
    assert [p.code for p in outcome.problems] == ["unknown-revision"]


def test_base_outside_git_is_a_problem(tmp_path: Path) -> None:
    dest = tmp_path / "plain"
    shutil.copytree(EXAMPLE, dest)
    outcome = run_validate(dest, base="main", today=TODAY)
    assert outcome.stage == "base"
    assert outcome.exit_code == EXIT_INPUT
    assert [p.code for p in outcome.problems] == ["not-a-git-repository"]
    assert outcome.path_prefix == ""


def test_unloadable_base_names_the_base_files(repo: Path) -> None:
    fleet = repo / "fleets/dev/support-dev.yaml"
    good = fleet.read_text()
    fleet.write_text(good.replace("environment: dev", "environment: [dev"), encoding="utf-8")
    commit_all(repo, "broken")
    fleet.write_text(good, encoding="utf-8")
    commit_all(repo, "fixed")
    outcome = run_validate(repo, base="HEAD~1", head="HEAD", today=TODAY)
    assert outcome.stage == "base"
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.problems
    for problem in outcome.problems:
        assert problem.location is None  # never annotated on the head's lines
        assert problem.message.startswith("base HEAD~1: fleets/dev/support-dev.yaml:")


def test_unrenderable_base_is_a_base_problem(repo: Path) -> None:
    edit(repo / TELEGRAM, "{{ params.displayName }}", "{{ params.displayName ")
    commit_all(repo, "broken template")
    edit(repo / TELEGRAM, "{{ params.displayName ", "{{ params.displayName }}")
    outcome = run_diff(repo, base="HEAD")
    assert outcome.stage == "base"
    assert outcome.exit_code == EXIT_INPUT
    assert all(p.message.startswith(f"base HEAD: {TELEGRAM}:") for p in outcome.problems)


def test_broken_head_stops_at_load(repo: Path) -> None:
    edit(repo / TELEGRAM, "kind: Template", "kind: Templat")
    outcome = run_validate(repo, base="HEAD", today=TODAY)
    assert outcome.stage == "load"
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.diff is None
    assert outcome.policy is None
    assert any(p.location is not None and p.location.file == TELEGRAM
               for p in outcome.problems)


def test_head_render_problem_stops_at_render(repo: Path) -> None:
    edit(repo / TELEGRAM, "{{ params.displayName }}", "{{ params.nope }}")
    outcome = run_validate(repo, today=TODAY)
    assert outcome.stage == "render"
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.policy is None


def test_bad_policy_rule_is_a_policy_problem(repo: Path) -> None:
    edit(repo / "policies/acme-channel-safety.yaml", "type: range", "type: no-such-type")
    outcome = run_validate(repo, today=TODAY)
    assert outcome.stage == "policy"
    assert outcome.exit_code == EXIT_INPUT
    assert any(p.location is not None
               and p.location.file == "policies/acme-channel-safety.yaml"
               for p in outcome.problems)


# --------------------------------------------------------------------------- path prefix


def test_path_prefix_of_a_subfolder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "example-repo", ignore=shutil.ignore_patterns(".github"))
    (work / "README.md").write_text("top\n", encoding="utf-8")
    commit_all(work)
    sub = work / "example-repo"
    assert config_path_prefix(sub) == "example-repo/"
    assert config_path_prefix(work) == ""
    edit(sub / TELEGRAM, "historyLimit: 50", "historyLimit: 55")
    commit_all(work)
    outcome = run_validate(sub, base="HEAD~1", today=TODAY)
    assert outcome.path_prefix == "example-repo/"
    assert outcome.diff is not None
    assert not outcome.diff.empty
    loc = outcome.diff.bots[0].changes[0].location
    assert loc is not None
    assert loc.file == TELEGRAM
    assert config_path_prefix(tmp_path) == ""


# --------------------------------------------------------------------------- reuse

Mutation = Callable[[Path], None]


def _template(root: Path) -> None:
    edit(root / TELEGRAM, "historyLimit: 50", "historyLimit: 51")


def _overlay(root: Path) -> None:
    edit(root / "overlays/region-us.yaml", "America/New_York", "America/Chicago")


def _overlay_removed(root: Path) -> None:
    (root / "overlays/region-eu.yaml").unlink()


def _profile(root: Path) -> None:
    path = root / "profiles/hardening.yaml"
    text = path.read_text()
    path.write_text(text.replace("deny: [browser, canvas, nodes]",
                                 "deny: [browser, canvas, nodes, exec]"), encoding="utf-8")


def _fleet(root: Path) -> None:
    edit(root / "fleets/dev/support-dev.yaml", "displayName: ACME Support (dev)",
         "displayName: ACME Support (dev)\n    tone: formal")


def _bot_removed_and_renamed(root: Path) -> None:
    edit(root / "fleets/prod/support-prod-eu.yaml", "- name: support-eu-04",
         "- name: support-eu-04b")


def _repository(root: Path) -> None:
    edit(root / "molthub.yaml", "failOn: error", "failOn: warning")


def _comments_only(root: Path) -> None:
    path = root / TELEGRAM
    path.write_text("# a new first line shifts every position\n" + path.read_text(),
                    encoding="utf-8")


@pytest.mark.parametrize(("mutate", "changes"), [
    (_template, True), (_overlay, True), (_overlay_removed, True), (_profile, True),
    (_fleet, True), (_bot_removed_and_renamed, True), (_repository, False),
    (_comments_only, False),
])
def test_reuse_gives_the_same_diff_as_a_full_base_render(repo: Path, mutate: Mutation,
                                                         changes: bool) -> None:
    mutate(repo)
    commit_all(repo, "change")
    for head in ("HEAD", None):
        reused = run_validate(repo, base="HEAD~1", head=head, today=TODAY)
        full = run_validate(repo, base="HEAD~1", head=head, today=TODAY, reuse=False)
        assert reused.stage == full.stage == "done", reused.problems
        assert reused.diff == full.diff
        assert reused == full
        assert reused.diff is not None
        assert reused.diff.empty is not changes


def test_stale_fleets_are_those_using_the_changed_template(repo: Path) -> None:
    _template(repo)
    commit_all(repo)
    cache = DocumentCache()
    head = load_revision(repo, "HEAD", cache=cache)
    parsed = len(cache)
    base = load_revision(repo, "HEAD~1", cache=cache)
    assert len(cache) == parsed + 1  # only the changed template was parsed again
    assert cache.hits == parsed - 1
    assert head.fleets["support-dev"] is base.fleets["support-dev"]
    expected = {n for n, f in base.fleets.items() if f.doc.spec.template == "telegram-support"}
    assert stale_fleets(base, head) == frozenset(expected)
    head_bots = render_repository(head).bots
    reused = render_base(base, head, head_bots)
    full = render_repository(base).bots
    assert [(b.name, b.fleet, b.config_hash) for b in reused] == [
        (b.name, b.fleet, b.config_hash) for b in full]


def test_repository_change_makes_every_fleet_stale(repo: Path) -> None:
    _repository(repo)
    commit_all(repo)
    cache = DocumentCache()
    head = load_revision(repo, "HEAD", cache=cache)
    base = load_revision(repo, "HEAD~1", cache=cache)
    assert stale_fleets(base, head) is None


def test_identical_revisions_have_no_stale_fleet(repo: Path) -> None:
    cache = DocumentCache()
    head = load(repo, cache=cache)
    base = load_revision(repo, "HEAD", cache=cache)
    assert stale_fleets(base, head) == frozenset()


def test_comment_only_change_stales_nothing(repo: Path) -> None:
    edit(repo / "overlays/canary-tier.yaml", "apiVersion", "# x\napiVersion")
    commit_all(repo)
    cache = DocumentCache()
    head = load_revision(repo, "HEAD", cache=cache)
    base = load_revision(repo, "HEAD~1", cache=cache)
    assert base.overlays["canary-tier"] is not head.overlays["canary-tier"]
    # the bytes differ but the document does not: compared by value, nothing is stale
    assert stale_fleets(base, head) == frozenset()


def test_overlay_change_stales_only_fleets_with_a_selected_bot(repo: Path) -> None:
    edit(repo / "overlays/canary-tier.yaml", "priority: 20", "priority: 21")
    commit_all(repo)
    cache = DocumentCache()
    head = load_revision(repo, "HEAD", cache=cache)
    base = load_revision(repo, "HEAD~1", cache=cache)
    selected = {b.fleet for b in render_repository(head).bots
                if "canary-tier" in b.overlays}
    assert selected
    assert selected != set(head.fleets)
    assert stale_fleets(base, head) == frozenset(selected)


def test_changed_literal_secret_never_reaches_the_diff(repo: Path) -> None:
    old, new = "1234567:AAoldPlaintextTelegramToken", "7654321:AAnewPlaintextTelegramToken"
    edit(repo / TELEGRAM, '"${TELEGRAM_BOT_TOKEN}"', f'"{old}"')
    commit_all(repo, "plaintext token")
    edit(repo / TELEGRAM, f'"{old}"', f'"{new}"')
    outcome = run_diff(repo, base="HEAD")
    assert outcome.diff is not None
    changes = [c for b in outcome.diff.bots for c in b.changes]
    assert changes
    assert {c.path for c in changes} == {"channels.telegram.botToken"}
    assert {(c.before, c.after) for c in changes} == {("<redacted>", "<redacted>")}
    text = repr(outcome)
    assert old not in text
    assert new not in text


def test_document_cache_gives_the_same_problems(repo: Path) -> None:
    edit(repo / TELEGRAM, "kind: Template", "kind: Templat")
    edit(repo / "fleets/dev/support-dev.yaml", "environment: dev", "environment: [dev")
    from molthub_gitops.errors import InputError

    def problems(cache: DocumentCache | None) -> tuple[object, ...]:
        with pytest.raises(InputError) as caught:
            load(repo, cache=cache)
        return caught.value.problems

    cache = DocumentCache()
    uncached = problems(None)
    first = problems(cache)
    hits = cache.hits
    second = problems(cache)
    assert uncached == first == second
    assert cache.hits == hits + len(cache)  # the second load parsed nothing


def test_the_pull_request_that_adds_the_config_folder(tmp_path: Path) -> None:
    """The base has no config repository at this path yet: every bot is added, exit 0."""
    outer = tmp_path / "mono"
    outer.mkdir()
    (outer / "README.md").write_text("a monorepo\n", encoding="utf-8")
    commit_all(outer, "before the fleet")
    shutil.copytree(EXAMPLE, outer / "fleet", ignore=shutil.ignore_patterns(".github"))
    commit_all(outer, "add the fleet")
    outcome = run_validate(outer / "fleet", base="HEAD~1", head="HEAD",
                           today=datetime.date(2026, 6, 1))
    assert outcome.exit_code == EXIT_OK, outcome.problems
    assert outcome.diff is not None
    assert outcome.diff.count("added") == outcome.bots == 36
    assert "no config repository there" in outcome.diff.base
    assert outcome.path_prefix == "fleet/"


def test_a_base_with_a_broken_molthub_yaml_is_still_a_problem(repo: Path) -> None:
    (repo / "molthub.yaml").write_text("apiVersion: molthub/v1\nkind: Template\n"
                                       "metadata: {name: x}\nspec: {config: {}}\n",
                                       encoding="utf-8")
    commit_all(repo, "break molthub.yaml")
    shutil.copy(EXAMPLE / "molthub.yaml", repo / "molthub.yaml")
    outcome = run_validate(repo, base="HEAD", today=datetime.date(2026, 6, 1))
    assert outcome.exit_code == EXIT_INPUT
    assert outcome.stage == "base"
