"""Files of a config repository (path -> bytes) -> a validated, cross-checked FleetRepository.

Pure: the caller (``repo.load``) reads the bytes; this module parses, validates and checks them
and raises one :class:`InputError` holding every problem of the whole repository.

Which files: every ``*.yaml`` / ``*.yml`` (any case), except paths with a component starting
with ``.`` (``.github/``, ``.molthub/``) and paths matching a ``spec.exclude`` glob of
``molthub.yaml``. Globs: ``*`` and ``?`` stay within one path component, ``**`` spans any number
of directories, and a glob that matches a directory excludes everything under it. Empty
documents (a file holding only comments) are ignored.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from molthub_gitops.errors import InputError, Location, Problem
from molthub_gitops.model.documents import (
    API_VERSION,
    DOCUMENT_KINDS,
    NAME_PATTERN,
    Fleet,
    Overlay,
    PolicyException,
    PolicyPack,
    Profile,
    Repository,
    Strict,
    Template,
)
from molthub_gitops.model.repository import FleetRepository, PathKey, SourceDoc
from molthub_gitops.model.yamlsource import ParsedDocument, parse_yaml

__all__ = [
    "BUILTIN_POLICY_PACKS",
    "REPOSITORY_FILE",
    "DocumentCache",
    "compile_globs",
    "content_digest",
    "exclude_pattern",
    "is_document_file",
    "load_files",
    "parse_document",
]

REPOSITORY_FILE = "molthub.yaml"
"""Where the one Repository document lives, relative to the repository root."""

BUILTIN_POLICY_PACKS = ("production-guardrails", "security-baseline")
"""Policy packs that ship with molthub and need no PolicyPack document."""

_SENSITIVE = re.compile(r"token|secret|password|passwd|apikey|api_key|private", re.IGNORECASE)
D = TypeVar("D", bound=Strict)


# --------------------------------------------------------------------------- file selection


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    pattern = pattern.strip().lstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out).rstrip("/")


def compile_globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching a path that a glob matches, or that lies under a matched directory."""
    parts = [_glob_regex(p) for p in patterns if p.strip()]
    if not parts:
        return None
    return re.compile("(?:" + "|".join(parts) + ")(?:/.*)?")


def is_document_file(path: str, exclude: re.Pattern[str] | None = None) -> bool:
    """Whether the loader reads ``path`` (a relative posix path) as molthub documents."""
    if not path.lower().endswith((".yaml", ".yml")):
        return False
    if any(part.startswith(".") for part in path.split("/")):
        return False
    return not (exclude is not None and exclude.fullmatch(path))


# --------------------------------------------------------------------------- validation


def _unwrap(annotation: Any) -> list[Any]:
    """The member types of a (possibly Optional/Union/Annotated) annotation."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found.extend(_unwrap(arg))
        return found
    return [annotation]


def _model_at(model: type[BaseModel], path: PathKey) -> type[BaseModel] | None:
    """The pydantic model describing the mapping at ``path`` of a document, if any."""
    current: list[Any] = [model]
    for key in path:
        nxt: list[Any] = []
        for ann in current:
            origin = typing.get_origin(ann)
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                for name, info in ann.model_fields.items():
                    if (info.alias or name) == key:
                        nxt.extend(_unwrap(info.annotation))
            elif origin in (list, dict) and isinstance(key, int if origin is list else str):
                nxt.extend(_unwrap(typing.get_args(ann)[-1]))
        current = nxt
    for ann in current:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
    return None


def _known_fields(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _suggest(word: str, choices: Sequence[str]) -> str:
    """' (did you mean X?)' for the closest choice, or ''."""
    norm = {c.lower().replace("_", "").replace("-", ""): c for c in choices}
    key = word.lower().replace("_", "").replace("-", "")
    if key in norm:
        return f"; did you mean {norm[key]!r}?"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _resolve_loc(
    data: Any, loc: tuple[int | str, ...]
) -> tuple[PathKey, tuple[PathKey, str] | None]:
    """Map a pydantic ``loc`` onto the document's data, skipping union branch tags.

    Returns the path and, when the loc passes through a union, (the union's path, the branch).
    """
    path: list[str | int] = []
    branch: tuple[PathKey, str] | None = None
    node = data
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]  # type: ignore[index]
            path.append(part)
        elif isinstance(part, str) and _is_branch_tag(part):
            if branch is None:
                branch = (tuple(path), part)
        elif i == len(loc) - 1:
            path.append(part)  # a missing or unknown key: not in the data (yet)
    return tuple(path), branch


def _is_branch_tag(part: str) -> bool:
    return part[:1].isupper() or "[" in part or part in {"str", "int", "float", "bool"}


def _pick_union_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A value failing every branch of a union yields errors for each branch: keep those of
    the branch that got furthest (deepest loc); on a tie prefer one that is not a mere
    "should be a mapping"."""
    by_union: dict[PathKey, dict[str, list[dict[str, Any]]]] = {}
    for err in errors:
        if err["_branch"] is not None:
            point, tag = err["_branch"]
            by_union.setdefault(point, {}).setdefault(tag, []).append(err)
    dropped: set[int] = set()
    for branches in by_union.values():
        if len(branches) < 2:
            continue

        def rank(tag: str, branches: dict[str, list[dict[str, Any]]] = branches) -> tuple[
            int, int
        ]:
            errs = branches[tag]
            shallow = all(e["type"] in ("model_type", "dict_type") for e in errs)
            return (max(e["_depth"] for e in errs), 0 if shallow else 1)

        best = max(branches, key=rank)
        for tag, errs in branches.items():
            if tag != best:
                dropped.update(id(e) for e in errs)
    return [e for e in errors if id(e) not in dropped]


def _describe_input(value: Any, path: PathKey) -> str:
    if isinstance(value, dict | list):
        return f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    if any(isinstance(p, str) and _SENSITIVE.search(p) for p in path):
        return ""
    text = repr(value)
    return f" (got {text})" if len(text) <= 60 else ""


def _validation_problems(
    exc: ValidationError, model: type[Strict], parsed: ParsedDocument, sdoc_loc: Any
) -> list[Problem]:
    """Translate a pydantic error into located problems, one per offending place."""
    errors: list[dict[str, Any]] = []
    for details in exc.errors():
        err: dict[str, Any] = dict(details)
        loc = tuple(err["loc"])
        err["_path"], err["_branch"] = _resolve_loc(parsed.data, loc)
        err["_depth"] = len(loc)
        errors.append(err)
    grouped: dict[PathKey, list[dict[str, Any]]] = {}
    for err in _pick_union_branches(errors):
        grouped.setdefault(err["_path"], []).append(err)
    problems: list[Problem] = []
    for path, errs in grouped.items():
        messages: list[str] = []
        hint = ""
        for err in errs:
            etype = err["type"]
            if etype == "extra_forbidden":
                parent = path[:-1]
                name = str(path[-1]) if path else "?"
                owner = _model_at(model, parent)
                known = _known_fields(owner) if owner is not None else []
                text = f"unknown field {name!r}"
                if parent:
                    text += f" in {_dotted(parent)}"
                text += _suggest(name, known)
                if known:
                    hint = "known fields: " + ", ".join(known)
                messages.append(text)
            elif etype == "missing":
                name = str(path[-1]) if path else "?"
                where = f" in {_dotted(path[:-1])}" if len(path) > 1 else ""
                messages.append(f"missing required field {name!r}{where}")
                hint = f"add {name}: to {_dotted(path[:-1]) if len(path) > 1 else 'the document'}"
            else:
                msg = str(err["msg"])
                if msg.startswith("Value error, "):
                    msg = msg[len("Value error, "):]
                if etype == "string_pattern_mismatch" and NAME_PATTERN in msg:
                    msg = ("must be a DNS-label name: 1 to 63 lower case letters, digits "
                           "and '-', starting and ending with a letter or digit")
                messages.append(f"{_dotted(path)}: {msg}{_describe_input(err.get('input'), path)}")
        location = sdoc_loc(path if errs[0]["type"] != "missing" else path[:-1])
        for text in dict.fromkeys(messages):
            problems.append(Problem("schema-violation", text, location, hint))
    return problems


def parse_document(
    parsed: ParsedDocument, file: str
) -> tuple[SourceDoc[Any] | None, list[Problem]]:
    """Check apiVersion and kind and validate one parsed document against its model."""
    data = parsed.data
    positions = parsed.positions

    def loc(path: PathKey) -> Location:
        key = path
        while key:
            found = positions.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return positions.get((), Location(file))

    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"the value {data!r}"
        return None, [Problem(
            "schema-violation",
            f"a document must be a mapping with apiVersion, kind, metadata and spec; "
            f"this one is {what}",
            loc(()),
            "start the document with 'apiVersion: molthub/v1' and 'kind: ...'",
        )]
    known_kinds = ", ".join(DOCUMENT_KINDS)
    api = data.get("apiVersion")
    if api != API_VERSION:
        text = ("missing apiVersion" if api is None
                else f"unknown apiVersion {api!r}; the known one is {API_VERSION!r}")
        return None, [Problem("unknown-apiversion", text, loc(("apiVersion",)),
                              f"set apiVersion: {API_VERSION}")]
    kind = data.get("kind")
    model = DOCUMENT_KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        text = ("missing kind" if kind is None else f"unknown kind {kind!r}")
        if isinstance(kind, str):
            text += _suggest(kind, list(DOCUMENT_KINDS))
        return None, [Problem("unknown-kind", text, loc(("kind",)),
                              f"known kinds: {known_kinds}")]
    try:
        doc = model.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        return None, _validation_problems(exc, model, parsed, loc)
    return SourceDoc(doc, file, parsed.index, positions), []


# --------------------------------------------------------------------------- the repository


class _Collected:
    def __init__(self) -> None:
        self.by_kind: dict[str, list[SourceDoc[Any]]] = {k: [] for k in DOCUMENT_KINDS}
        # Names of documents that failed validation, so that references to them are not
        # reported a second time as missing.
        self.invalid: dict[str, set[str]] = {k: set() for k in DOCUMENT_KINDS}
        # A file could not be parsed at all: any reference may point into it.
        self.unreadable = False

    def note_invalid(self, data: Any) -> None:
        if isinstance(data, dict):
            kind = data.get("kind")
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            if kind in self.invalid and isinstance(name, str):
                self.invalid[kind].add(name)


class _FileDocs:
    """What one file yields: its valid documents, its problems, the names of its invalid
    documents and whether it could not be parsed at all. A pure function of (path, bytes),
    so it may be shared between loads (see :class:`DocumentCache`)."""

    __slots__ = ("docs", "invalid", "problems", "unreadable")

    def __init__(self) -> None:
        self.docs: list[SourceDoc[Any]] = []
        self.problems: list[Problem] = []
        self.invalid: list[Any] = []
        self.unreadable = False


class DocumentCache:
    """Parsed files keyed by (path, SHA-256 of the content), shared by several loads.

    Loading two revisions of one repository (a pull request's base and head) with one cache
    parses each file whose bytes did not change only once: the second load gets the very
    same :class:`SourceDoc` objects, so ``is`` tells unchanged documents apart cheaply.
    Documents are immutable, so sharing them is safe.
    """

    def __init__(self) -> None:
        self._files: dict[tuple[str, str], _FileDocs] = {}
        self.hits = 0
        """Files served from the cache (for tests and benchmarks)."""

    def __len__(self) -> int:
        return len(self._files)

    def _get(self, path: str, data: bytes) -> tuple[tuple[str, str], _FileDocs | None]:
        key = (path, content_digest(data))
        found = self._files.get(key)
        if found is not None:
            self.hits += 1
        return key, found

    def _put(self, key: tuple[str, str], docs: _FileDocs) -> None:
        self._files[key] = docs


def content_digest(data: bytes) -> str:
    """The content digest used to recognise unchanged files (SHA-256, hex)."""
    return hashlib.sha256(data).hexdigest()


def _parse_file(path: str, data: bytes) -> _FileDocs:
    out = _FileDocs()
    try:
        parsed_docs = parse_yaml(data, path)
    except InputError as exc:
        out.problems.extend(exc.problems)
        scratch = _Collected()
        _harvest_names(data, path, scratch)
        out.unreadable = scratch.unreadable
        out.invalid.extend(
            {"kind": kind, "metadata": {"name": name}}
            for kind, names in scratch.invalid.items() for name in sorted(names))
        return out
    for parsed in parsed_docs:
        if parsed.data is None:
            continue
        sdoc, found = parse_document(parsed, path)
        out.problems.extend(found)
        if sdoc is not None:
            out.docs.append(sdoc)
        else:
            out.invalid.append(parsed.data)
    return out


def _parse_files(
    files: Mapping[str, bytes], problems: list[Problem], cache: DocumentCache | None = None
) -> _Collected:
    collected = _Collected()
    exclude = None
    repo_bytes = files.get(REPOSITORY_FILE)
    if repo_bytes is not None:
        exclude = exclude_pattern(repo_bytes)
    for path in sorted(files):
        if not is_document_file(path, exclude):
            continue
        if cache is None:
            docs = _parse_file(path, files[path])
        else:
            key, found = cache._get(path, files[path])
            if found is None:
                found = _parse_file(path, files[path])
                cache._put(key, found)
            docs = found
        problems.extend(docs.problems)
        if docs.unreadable:
            collected.unreadable = True
        for data in docs.invalid:
            collected.note_invalid(data)
        for sdoc in docs.docs:
            collected.by_kind[sdoc.kind].append(sdoc)
    return collected


def _harvest_names(data: bytes, path: str, collected: _Collected) -> None:
    """Names of the documents of a file that failed to parse, read leniently, so references
    to them are not reported as missing; if even that fails, reference checks are skipped."""
    try:
        text = data.decode("utf-8", "replace").replace("\x00", "")
        docs = parse_yaml(text.encode("utf-8"), path)
    except (InputError, UnicodeError):
        collected.unreadable = True
        return
    for parsed in docs:
        collected.note_invalid(parsed.data)


def exclude_pattern(repo_bytes: bytes) -> re.Pattern[str] | None:
    """The ``spec.exclude`` globs of molthub.yaml's bytes as one regex (None: no globs).

    Read leniently: a broken molthub.yaml excludes nothing (its errors are reported later).
    """
    try:
        docs = parse_yaml(repo_bytes, REPOSITORY_FILE)
    except InputError:
        return None
    for parsed in docs:
        data = parsed.data
        if isinstance(data, dict) and data.get("kind") == "Repository":
            spec = data.get("spec")
            globs = spec.get("exclude") if isinstance(spec, dict) else None
            if isinstance(globs, list):
                return compile_globs([g for g in globs if isinstance(g, str)])
    return None


def _unique(
    docs: list[SourceDoc[D]], kind: str, problems: list[Problem]
) -> dict[str, SourceDoc[D]]:
    seen: dict[str, SourceDoc[D]] = {}
    for sdoc in docs:
        first = seen.get(sdoc.name)
        if first is not None:
            problems.append(Problem(
                "duplicate-name",
                f"{kind} {sdoc.name!r} is defined twice (first in "
                f"{first.loc('metadata', 'name')})",
                sdoc.loc("metadata", "name"),
                f"give each {kind} its own metadata.name",
                (first.loc("metadata", "name"),),
            ))
            continue
        seen[sdoc.name] = sdoc
    return {name: seen[name] for name in sorted(seen)}


def _missing_ref(
    code: str, what: str, name: str, known: Mapping[str, Any], where: Location
) -> Problem:
    choices = sorted(known)
    return Problem(
        code,
        f"{what} {name!r} does not exist{_suggest(name, choices)}",
        where,
        f"known {what}s: {', '.join(choices)}" if choices
        else f"add a {what.capitalize()} document named {name!r}",
    )


def _check_references(
    repo: FleetRepository, invalid: Mapping[str, set[str]], unreadable: bool,
    problems: list[Problem],
) -> None:
    """References between documents. Names of invalid documents count as present; when a
    file could not be parsed at all (``unreadable``), missing references are not reported
    (they may live in that file)."""
    versions = repo.repository.doc.spec.openclaw_versions
    packs = repo.repository.doc.spec.policy.packs
    for i, pack in enumerate(packs):
        if not unreadable and pack not in BUILTIN_POLICY_PACKS and (
            pack not in repo.policy_packs and pack not in invalid["PolicyPack"]
        ):
            known = sorted({*BUILTIN_POLICY_PACKS, *repo.policy_packs})
            problems.append(Problem(
                "unknown-policy-pack",
                f"policy pack {pack!r} is neither built in nor a PolicyPack document"
                f"{_suggest(pack, known)}",
                repo.repository.loc("spec", "policy", "packs", i),
                f"known packs: {', '.join(known)}",
            ))
    bots: dict[str, Location] = {}
    for fleet in repo.fleets.values():
        spec = fleet.doc.spec
        if not unreadable and (
            spec.template not in repo.templates and spec.template not in invalid["Template"]
        ):
            problems.append(_missing_ref("missing-template", "template", spec.template,
                                         repo.templates, fleet.loc("spec", "template")))
        for i, prof in enumerate(spec.profiles):
            if not unreadable and prof not in repo.profiles and prof not in invalid["Profile"]:
                problems.append(_missing_ref("missing-profile", "profile", prof, repo.profiles,
                                             fleet.loc("spec", "profiles", i)))
        if spec.openclaw_version not in versions:
            problems.append(Problem(
                "unknown-openclaw-version",
                f"openclawVersion {spec.openclaw_version!r} is not allowed by molthub.yaml "
                f"(spec.openclawVersions: {', '.join(versions)})",
                fleet.loc("spec", "openclawVersion"),
                "pin one of the allowed versions, or add it to spec.openclawVersions",
                (repo.repository.loc("spec", "openclawVersions"),),
            ))
        canary = spec.rollout.canary
        if canary is not None:
            names = [bot.name for bot in spec.bots]
            for i, name in enumerate(canary.bots):
                if name not in names:
                    problems.append(Problem(
                        "unknown-canary",
                        f"canary bot {name!r} is not a bot of fleet {fleet.name!r}"
                        f"{_suggest(name, names)}",
                        fleet.loc("spec", "rollout", "canary", "bots", i),
                        "name bots of this fleet (spec.bots[].name), or use canary.count",
                    ))
        for b, bot in enumerate(spec.bots):
            here = fleet.loc("spec", "bots", b, "name")
            first = bots.get(bot.name)
            if first is not None:
                problems.append(Problem(
                    "duplicate-name",
                    f"bot {bot.name!r} is defined twice (first at {first})",
                    here, "bot names must be unique across the whole repository", (first,),
                ))
            else:
                bots[bot.name] = here
            for i, prof in enumerate(bot.profiles):
                if not unreadable and (
                    prof not in repo.profiles and prof not in invalid["Profile"]
                ):
                    problems.append(_missing_ref(
                        "missing-profile", "profile", prof, repo.profiles,
                        fleet.loc("spec", "bots", b, "profiles", i)))


def _the_repository(
    docs: list[SourceDoc[Repository]], has_file: bool, problems: list[Problem]
) -> SourceDoc[Repository] | None:
    at_root = [d for d in docs if d.file == REPOSITORY_FILE]
    for d in docs:
        if d.file != REPOSITORY_FILE:
            problems.append(Problem(
                "misplaced-repository",
                f"the Repository document must live in {REPOSITORY_FILE} at the root, "
                f"not in {d.file}",
                d.loc(), f"move it to {REPOSITORY_FILE}",
            ))
    for extra in at_root[1:]:
        problems.append(Problem(
            "duplicate-name",
            f"{REPOSITORY_FILE} holds more than one Repository document",
            extra.loc(), "keep exactly one", (at_root[0].loc(),),
        ))
    if at_root:
        return at_root[0]
    if not has_file:
        problems.append(Problem(
            "missing-repository",
            f"no {REPOSITORY_FILE} at the repository root",
            Location(REPOSITORY_FILE),
            "create it with 'apiVersion: molthub/v1', 'kind: Repository' and "
            "'metadata: {name: ...}' (molthub init writes one)",
        ))
    elif not any(p.location is not None and p.location.file == REPOSITORY_FILE
                 for p in problems):
        problems.append(Problem(
            "missing-repository",
            f"{REPOSITORY_FILE} holds no Repository document",
            Location(REPOSITORY_FILE, 1),
            "add a document with 'kind: Repository'",
        ))
    return None


def load_files(
    files: Mapping[str, bytes], *, source: str, problems: Sequence[Problem] = (),
    cache: DocumentCache | None = None,
) -> FleetRepository:
    """Parse, validate and cross-check the files of a repository (relative posix paths).

    ``problems`` are those the reader already found (unreadable files, links leading outside);
    they are reported together with everything found here. With a ``cache``, files already
    parsed with the same path and content are not parsed again (their documents are shared).
    Raises :class:`InputError`.
    """
    found: list[Problem] = list(problems)
    collected = _parse_files(files, found, cache)
    by_kind = collected.by_kind
    repository = _the_repository(by_kind["Repository"], REPOSITORY_FILE in files, found)
    templates: dict[str, SourceDoc[Template]] = _unique(by_kind["Template"], "Template", found)
    profiles: dict[str, SourceDoc[Profile]] = _unique(by_kind["Profile"], "Profile", found)
    overlays: dict[str, SourceDoc[Overlay]] = _unique(by_kind["Overlay"], "Overlay", found)
    fleets: dict[str, SourceDoc[Fleet]] = _unique(by_kind["Fleet"], "Fleet", found)
    packs: dict[str, SourceDoc[PolicyPack]] = _unique(by_kind["PolicyPack"], "PolicyPack", found)
    exceptions: dict[str, SourceDoc[PolicyException]] = _unique(
        by_kind["PolicyException"], "PolicyException", found)
    for name in packs:
        if name in BUILTIN_POLICY_PACKS:
            found.append(Problem(
                "duplicate-name",
                f"PolicyPack {name!r} has the name of a built-in pack",
                packs[name].loc("metadata", "name"), "choose another name"))
    if repository is None:
        raise InputError(found)
    repo = FleetRepository(
        source=source,
        repository=repository,
        templates=templates,
        profiles=profiles,
        overlays=overlays,
        fleets=fleets,
        policy_packs=packs,
        policy_exceptions=exceptions,
    )
    _check_references(repo, collected.invalid, collected.unreadable, found)
    if found:
        raise InputError(found)
    return repo

