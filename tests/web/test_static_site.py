"""The static status page: same template, no refresh, a note naming the status-branch commit,
JSON beside it, written all at once, and never over a folder it did not build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from molthub_gitops.errors import InputError
from molthub_gitops.sync.audit import AuditEntry
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.web.pages import render_page
from molthub_gitops.web.static_site import MARKER, SITE_FILES, build_static_site

from ._webapp import C3, HOSTILE_LABEL, parse_page, sample_audit, sample_status

SOURCE = "9" * 40


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_builds_page_json_and_static_files(tmp_path: Path) -> None:
    out = tmp_path / "site"
    status, audit = sample_status(), sample_audit(10)
    files = build_static_site(status, audit, out, source_commit=SOURCE,
                              generated_at="2026-11-26T16:00:00Z")
    assert _tree(out) == set(SITE_FILES)
    assert {p.relative_to(out).as_posix() for p in files} == set(SITE_FILES)
    page = (out / "index.html").read_text(encoding="utf-8")
    text, tags = parse_page(page)
    assert "http-equiv" not in page  # no refresh on a static page
    assert f"Built from the status branch molthub-status at {SOURCE[:12]}" in text
    assert "on 2026-11-26T16:00:00Z" in text
    assert "wave 1 of 3" in text
    assert C3[:12] in text
    assert f"note={HOSTILE_LABEL}" in text
    assert "<script" not in page
    assert not [t for t, _ in tags if t in {"script", "img"}]
    # links resolve inside the folder
    hrefs = [a.get("href") for t, a in tags if t in {"link", "a"}]
    for href in hrefs:
        assert href is not None
        assert "://" not in href
        assert not href.startswith("/")
        if not href.startswith(("api/", "metrics")):
            assert (out / href).is_file(), href
    assert "status.json" in hrefs
    assert "audit.json" in hrefs
    assert DaemonStatus.model_validate(json.loads((out / "status.json").read_text())) == status
    entries = json.loads((out / "audit.json").read_text())["entries"]
    assert [AuditEntry.model_validate(e) for e in entries] == audit


def test_the_static_page_is_the_live_template_without_refresh() -> None:
    status, audit = sample_status(hostile=False), sample_audit(3, hostile=False)
    live, _ = parse_page(render_page(status, audit, live=True))
    static, _ = parse_page(render_page(status, audit, live=False, source_commit=SOURCE))
    # the same body apart from the note line and the footer links
    for fragment in ("wave 1 of 3", "Recent audit events", "channel telegram failed",
                     "failed validation and was not applied", "2 failures > threshold 1"):
        assert fragment in live
        assert fragment in static
    assert "Live from the daemon" in live
    assert "Live from the daemon" not in static


def test_audit_json_keeps_the_newest_entries(tmp_path: Path) -> None:
    build_static_site(sample_status(), sample_audit(30), tmp_path / "s", audit_limit=5)
    entries = json.loads((tmp_path / "s" / "audit.json").read_text())["entries"]
    assert [e["seq"] for e in entries] == [26, 27, 28, 29, 30]


def test_rebuild_replaces_an_earlier_build(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_static_site(sample_status(), sample_audit(), out, source_commit="a" * 40)
    (out / "index.html").write_text("stale", encoding="utf-8")
    build_static_site(DaemonStatus(), [], out, source_commit="b" * 40)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "stale" not in page
    assert "b" * 12 in page
    assert "No fleets yet" in page
    assert _tree(out) == set(SITE_FILES)
    assert not [p for p in tmp_path.iterdir() if p.name != "site"]  # no staging left behind


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    build_static_site(DaemonStatus(), [], out)
    assert (out / MARKER).is_file()


def test_a_foreign_folder_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "precious.md").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError) as info:
        build_static_site(sample_status(), [], out)
    assert info.value.problems[0].code == "status-page-out"
    assert "not built by molthub" in info.value.problems[0].message
    assert _tree(out) == {"precious.md"}
    assert (out / "precious.md").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_a_file_or_symlink_as_output_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(InputError):
        build_static_site(DaemonStatus(), [], target)
    assert target.read_text(encoding="utf-8") == "x"
    real = tmp_path / "real"
    build_static_site(DaemonStatus(), [], real)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(InputError):
        build_static_site(DaemonStatus(), [], link)
    assert link.is_symlink()


def test_an_unusable_parent_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError) as info:
        build_static_site(DaemonStatus(), [], blocker / "site")
    assert "cannot" in info.value.problems[0].message
    assert blocker.read_text(encoding="utf-8") == "x"
