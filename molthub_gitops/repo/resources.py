"""Locating the data bundled with molthub: document schemas, OpenClaw schemas, example-repo.

An installed wheel holds them under ``molthub_gitops/_data/<name>``; a source checkout
(editable install) has them at the repository root, next to the package directory.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from molthub_gitops.errors import InputError, Location, MolthubError
from molthub_gitops.model.jsonschemas import document_schemas, serialize_schema

__all__ = [
    "data_dir",
    "default_schema_out_dir",
    "example_repo_dir",
    "openclaw_schema",
    "openclaw_schema_versions",
    "schemas_dir",
    "source_checkout_root",
    "stale_schema_files",
    "write_schema_files",
]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def source_checkout_root() -> Path | None:
    """The root of the source checkout the package runs from, or None when installed."""
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "molthub_gitops").is_dir():
        return root
    return None


def data_dir(name: str) -> Path:
    """Directory of bundled data ``name`` (``schemas``, ``example-repo``)."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    root = source_checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    raise MolthubError(
        f"bundled data {name!r} not found (looked in {installed}"
        + (f" and {root / name}" if root is not None else "")
        + "); the installation is incomplete"
    )


def schemas_dir() -> Path:
    """``schemas/``: JSON Schemas of the documents and ``openclaw/<version>.json``."""
    return data_dir("schemas")


def example_repo_dir() -> Path:
    """``example-repo/``: the repository ``molthub init`` copies and ``molthub demo`` runs."""
    return data_dir("example-repo")


def openclaw_schema_versions() -> list[str]:
    """OpenClaw versions with a vendored config schema, sorted."""
    folder = schemas_dir() / "openclaw"
    if not folder.is_dir():
        return []
    found = [p.stem for p in folder.glob("*.json") if not p.name.endswith(".meta.json")]
    return sorted(found, key=_version_key)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """'2026.10.1' sorts after '2026.9.6'."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.split("."))


@functools.lru_cache(maxsize=16)
def openclaw_schema(version: str) -> dict[str, Any]:
    """The vendored OpenClaw config JSON Schema of ``version`` (read once per version)."""
    path = schemas_dir() / "openclaw" / f"{version}.json"
    if version not in openclaw_schema_versions():
        known = openclaw_schema_versions()
        raise InputError.single(
            "unknown-openclaw-version",
            f"no OpenClaw config schema is vendored for version {version!r}",
            Location("molthub.yaml"),
            "supported versions: " + (", ".join(known) if known else "(none)"),
        )
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def default_schema_out_dir() -> Path:
    """Where ``molthub schema`` writes by default: the checkout's ``schemas/``, or ./schemas."""
    root = source_checkout_root()
    return root / "schemas" if root is not None else Path("schemas")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stale_schema_files(
    out_dir: Path, schemas: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """Names of document schema files in ``out_dir`` that are missing or out of date."""
    stale: list[str] = []
    for name, schema in sorted((schemas or document_schemas()).items()):
        path = out_dir / name
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # missing, unreadable or garbled: rewrite it
            current = None
        if current != serialize_schema(schema):
            stale.append(name)
    return stale


def write_schema_files(out_dir: Path) -> list[Path]:
    """Write the document JSON Schemas into ``out_dir`` (each atomically); return those
    whose content changed. Files already up to date are left untouched."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        changed: list[Path] = []
        schemas = document_schemas()
        for name in stale_schema_files(out_dir, schemas):
            path = out_dir / name
            _atomic_write(path, serialize_schema(schemas[name]))
            changed.append(path)
    except OSError as exc:
        raise InputError.single(
            "unwritable", f"cannot write schemas into {out_dir}: {exc.strerror or exc}",
            Location(str(out_dir)), "choose another directory with --out") from None
    return changed
