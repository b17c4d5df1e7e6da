"""The status page as static files (``molthub status-page --out DIR``), e.g. for GitHub Pages.

:func:`build_static_site` renders the same template as the live page with ``live=False`` (no
refresh; a note names the status-branch commit it was built from) and writes ``index.html``,
``status.json``, ``audit.json`` and ``static/`` (stylesheet, icon) into a fresh folder beside
``out_dir``, then swaps it into place, so a reader sees the old site or the whole new one.

An existing ``out_dir`` is replaced only when it is empty or was built by this function (it
holds the marker file ``.molthub-status-page``); anything else is an :class:`InputError`, so a
typo never deletes someone's folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from molthub_gitops.errors import InputError, Location
from molthub_gitops.sync.audit import AuditEntry
from molthub_gitops.sync.state import DaemonStatus
from molthub_gitops.web.pages import STATIC_FILES, render_page, static_file

__all__ = ["MARKER", "SITE_FILES", "build_static_site"]

MARKER = ".molthub-status-page"
SITE_FILES: tuple[str, ...] = ("index.html", "status.json", "audit.json",
                               *(f"static/{name}" for name in STATIC_FILES), MARKER)
"""Every file the site holds (relative paths)."""


def _check_target(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise InputError.single(
            "status-page-out", "the output path exists and is not a folder",
            Location(str(out_dir)), hint="choose a new or empty folder for --out")
    if out_dir.is_dir():
        try:
            entries = list(out_dir.iterdir())
        except OSError as exc:
            raise InputError.single(
                "status-page-out", f"cannot read the output folder ({exc.strerror})",
                Location(str(out_dir))) from None
        if entries and not (out_dir / MARKER).is_file():
            raise InputError.single(
                "status-page-out",
                "the output folder is not empty and was not built by molthub status-page; "
                "it is left alone",
                Location(str(out_dir)), hint="choose a new or empty folder for --out")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def build_static_site(status: DaemonStatus, audit: Sequence[AuditEntry], out_dir: Path, *,
                      source_commit: str | None = None, generated_at: str = "",
                      audit_limit: int = 200) -> list[Path]:
    """Write the static status page into ``out_dir`` (created or replaced); return its files.

    ``audit``: entries in any order; ``audit.json`` holds the newest ``audit_limit`` oldest
    first, the page shows the newest 50. ``source_commit``: the status-branch commit read.
    Raises :class:`InputError` for an output folder it must not replace or cannot write.
    """
    out_dir = Path(out_dir)
    _check_target(out_dir)
    html = render_page(status, audit, live=False, source_commit=source_commit,
                       generated_at=generated_at)
    newest = sorted(audit, key=lambda e: e.seq)[-audit_limit:] if audit_limit > 0 else []
    files: dict[str, bytes] = {
        "index.html": html.encode("utf-8"),
        "status.json": (json.dumps(status.to_json_dict(), indent=2, ensure_ascii=False)
                        + "\n").encode("utf-8"),
        "audit.json": (json.dumps({"entries": [e.to_json_dict() for e in newest]}, indent=2,
                                  ensure_ascii=False) + "\n").encode("utf-8"),
        MARKER: b"Built by `molthub status-page`; replaced on every build.\n",
    }
    for name in STATIC_FILES:
        files[f"static/{name}"] = static_file(name)

    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    except OSError as exc:
        raise InputError.single(
            "status-page-out", f"cannot create the output folder ({exc.strerror})",
            Location(str(out_dir))) from None
    old: Path | None = None
    try:
        for rel, data in files.items():
            _write(staging / rel, data)
        staging.chmod(0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            old.rmdir()
            os.replace(out_dir, old)
        os.replace(staging, out_dir)
    except OSError as exc:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        if old is not None and old.exists() and not out_dir.exists():
            with contextlib.suppress(OSError):
                os.replace(old, out_dir)
        raise InputError.single(
            "status-page-out", f"cannot write the status page ({exc.strerror})",
            Location(str(out_dir))) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out_dir / rel for rel in files]
