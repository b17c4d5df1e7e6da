"""The status branch: daemon status and the hash-chained audit log, committed back to Git.

The branch (default ``molthub-status``) is an orphan branch of the config repository, written
with pygit2 only (trees built in the object database, never a work tree) and pushed with
retry, never forced. Its layout:

* ``README.md`` -- what the branch is and how to check it (``molthub audit verify``);
* ``status.json`` -- :meth:`DaemonStatus.for_branch` with ``bots`` emptied;
* ``bots/<fleet>.json`` -- that fleet's bots (name -> :class:`BotStatus`, one per line);
* ``audit/NNNNNN.jsonl`` -- the audit log, one entry per line, in segments of
  :data:`~molthub_gitops.sync.audit.SEGMENT_ENTRIES` entries (:func:`segment_name`).

:class:`StatusBranch` is the blocking part (callers run it in a thread): ``load`` fetches and
reads the branch, ``publish`` chains audit drafts, commits status and entries as one commit
and pushes; a push rejected because another writer got there first is answered by fetching
their tip, re-chaining our entries after theirs and trying again (bounded attempts with
backoff). :class:`StatusWriter` is the daemon's :class:`~molthub_gitops.sync.audit.AuditSink`:
it queues events and publishes them with the status in batches. :func:`read_status_branch`
and :func:`verify_audit` read a local repository without fetching (``molthub status-page``,
``molthub audit verify``; for a URL they first clone the branch with the daemon's
:class:`~molthub_gitops.sync.source.GitSource`).

Scrubbing secrets out of reasons and errors is the caller's job (drafts arrive scrubbed);
this module only keeps credentials of remote URLs out of its own error messages.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pygit2

from molthub_gitops.errors import GitError, InputError, Location, Problem, PushRejected
from molthub_gitops.sync import audit as audit_module
from molthub_gitops.sync.audit import (
    GENESIS,
    AuditChain,
    AuditDraft,
    AuditEntry,
    ChainBreak,
    event_id,
    verify_chain,
)
from molthub_gitops.sync.clock import Clock, SystemClock, iso
from molthub_gitops.sync.state import BotStatus, DaemonStatus

__all__ = [
    "DEFAULT_BRANCH",
    "README_TEXT",
    "TAIL_ENTRIES",
    "AuditVerdict",
    "LoadedStatus",
    "PublishResult",
    "StatusBranch",
    "StatusSnapshot",
    "StatusWriter",
    "is_url",
    "read_status_branch",
    "scrub_url",
    "status_files",
    "verify_audit",
]

log = logging.getLogger("molthub.sync.statusbranch")

DEFAULT_BRANCH = "molthub-status"
TAIL_ENTRIES = 200
"""How many of the newest audit entries are kept in memory (status page, ``recent``)."""

README_TEXT = """\
# molthub status branch

This branch is written by the molthub sync daemon. Do not edit it by hand.

- `status.json`: the daemon's status (commit in force, gate verdict, fleets and rollouts).
- `bots/<fleet>.json`: the status of each bot of a fleet.
- `audit/NNNNNN.jsonl`: the audit log, one JSON entry per line. Every entry holds the sha256
  hash of the entry before it, so changing, removing or reordering any entry breaks the chain.

Check the chain with:

    molthub audit verify --repo <this repository> --branch <this branch>
"""

_SEGMENT_FILE = re.compile(r"\d{6}\.jsonl")
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_URL_LIKE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/\s:@]+@[^/\s:]+:)")
_BLOB = pygit2.GIT_FILEMODE_BLOB
_TREE = pygit2.GIT_FILEMODE_TREE


def scrub_url(text: str) -> str:
    """``text`` with ``user:password@`` removed from every URL in it."""
    return _URL_USERINFO.sub(r"\1", text)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LoadedStatus:
    """What the status branch held at ``commit`` (``None``: the branch does not exist yet)."""

    status: DaemonStatus | None
    chain: AuditChain
    """The chain's tail (last seq and hash) and every entry id of the whole log."""
    entries_tail: list[AuditEntry]
    """The newest entries (at most :data:`TAIL_ENTRIES`), oldest first."""
    commit: str | None


@dataclass(frozen=True)
class PublishResult:
    commit: str | None
    """The commit pushed (``None``: nothing had changed, nothing was committed)."""
    entries: list[AuditEntry]
    """The entries this publish added to the log (drafts already in the log are skipped)."""
    attempts: int
    """Push attempts (1 without a race; 0 when nothing was committed)."""


@dataclass(frozen=True)
class AuditVerdict:
    entries: int
    """Entries read (up to and including the first broken one)."""
    breaks: list[ChainBreak]
    last_hash: str | None = None
    """The hash of the last entry when the chain is intact and not empty."""
    commit: str | None = None
    branch: str = DEFAULT_BRANCH

    @property
    def ok(self) -> bool:
        return not self.breaks

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "branch": self.branch,
            "commit": self.commit,
            "entries": self.entries,
            "lastHash": self.last_hash,
            "breaks": [{"seq": b.seq, "where": b.where, "message": b.message}
                       for b in self.breaks],
        }


# --------------------------------------------------------------------------- files


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _fleet_file(fleet: str) -> str:
    name = quote(fleet, safe="") if fleet else "_"
    if name.startswith("."):
        name = "%2E" + name[1:]
    return f"{name}.json"


StatusSnapshot = DaemonStatus | Mapping[str, Any]
"""A status to publish: the model, or its camelCase JSON (``to_json_dict()``), which is a
cheap snapshot to take on the event loop and hand to a thread."""


def _branch_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of :meth:`DaemonStatus.for_branch` from the JSON of a status (no deep copy of
    the model: 10,000 bots would take a third of a second)."""
    out = dict(data)
    out["updatedAt"] = ""
    out["bots"] = {name: {**bot, "lastObservedAt": None}
                   for name, bot in dict(data.get("bots") or {}).items()}
    return out


def status_files(status: StatusSnapshot) -> dict[str, bytes]:
    """The status files of the branch for ``status``: ``status.json`` and ``bots/*.json``."""
    if isinstance(status, DaemonStatus):
        data = status.for_branch().to_json_dict()
    else:
        data = _branch_view(status)
    bots: dict[str, Any] = data.pop("bots", {})
    data["bots"] = {}
    out: dict[str, bytes] = {"status.json": _json_bytes(data)}
    by_fleet: dict[str, dict[str, Any]] = {}
    for name, bot in bots.items():
        by_fleet.setdefault(str(bot.get("fleet", "")), {})[name] = bot
    for fleet, members in by_fleet.items():
        out[f"bots/{_fleet_file(fleet)}"] = _bots_bytes(members)
    return out


def _bots_bytes(members: dict[str, Any]) -> bytes:
    """One fleet's bots as a JSON object with one bot per line (sorted keys): a change to
    one bot is a one-line diff, and the C JSON encoder keeps 10,000 bots fast."""
    if not members:
        return b"{}\n"
    rows = [f"  {json.dumps(name, ensure_ascii=False)}: "
            f"{json.dumps(members[name], sort_keys=True, ensure_ascii=False)}"
            for name in sorted(members)]
    return ("{\n" + ",\n".join(rows) + "\n}\n").encode()


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    obj = repo[oid]
    if not isinstance(obj, pygit2.Blob):
        raise ValueError(f"{oid} is not a blob")
    return bytes(obj.data)


def _blob_data(repo: pygit2.Repository, tree: pygit2.Tree | None, path: str) -> bytes | None:
    if tree is None:
        return None
    try:
        obj = tree[path]
    except KeyError:
        return None
    if obj.type != pygit2.GIT_OBJECT_BLOB:
        return None
    return _blob(repo, obj.id)


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str
             ) -> pygit2.Tree | None:
    if tree is None:
        return None
    try:
        obj = tree[name]
    except KeyError:
        return None
    if obj.type != pygit2.GIT_OBJECT_TREE:
        return None
    found = repo[obj.id]
    return found if isinstance(found, pygit2.Tree) else None


def _segments(repo: pygit2.Repository, tree: pygit2.Tree | None, *, first: str = ""
              ) -> Iterator[tuple[str, bytes]]:
    """``(path, content)`` of every audit segment in order (from the one named ``first``
    on, when given), read one at a time."""
    audit = _subtree(repo, tree, "audit")
    if audit is None:
        return
    names = sorted(e.name for e in audit
                   if e.name is not None and _SEGMENT_FILE.fullmatch(e.name)
                   and e.type == pygit2.GIT_OBJECT_BLOB)
    for name in names:
        path = f"audit/{name}"
        if path >= first:
            yield path, _blob(repo, audit[name].id)


def _read_status(repo: pygit2.Repository, tree: pygit2.Tree, *, strict: bool
                 ) -> DaemonStatus | None:
    raw = _blob_data(repo, tree, "status.json")
    if raw is None:
        return None
    current = "status.json"
    try:
        status = DaemonStatus.model_validate_json(raw)
        bots: dict[str, BotStatus] = {}
        folder = _subtree(repo, tree, "bots")
        for entry in sorted(folder or [], key=lambda e: e.name or ""):
            if not (entry.name or "").endswith(".json") or entry.type != pygit2.GIT_OBJECT_BLOB:
                continue
            current = f"bots/{entry.name}"
            members = json.loads(_blob(repo, entry.id))
            if not isinstance(members, dict):
                raise ValueError("expected an object of bots by name")
            for name, bot in members.items():
                bots[str(name)] = BotStatus.model_validate(bot)
    except ValueError as exc:
        message = f"cannot read the status ({type(exc).__name__})"
        if strict:
            raise InputError([Problem("bad-status-file", message, Location(current),
                                      "the status branch is written by the sync daemon; "
                                      "was it edited by hand?")]) from None
        log.warning("status branch: %s: %s; starting without it", current, message)
        return None
    status.bots = bots
    return status


# --------------------------------------------------------------------------- chain state


@dataclass
class _ChainState:
    tip: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS
    ids: set[str] = field(default_factory=set)
    tail: collections.deque[AuditEntry] = field(
        default_factory=lambda: collections.deque(maxlen=TAIL_ENTRIES))
    follows: bool = True
    """After an incremental read: whether the new entries chain onto the earlier state."""


def _scan_lines(content: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(content.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def _scan(repo: pygit2.Repository, tip: str | None, *, after: _ChainState | None = None
          ) -> _ChainState:
    """Read the chain at ``tip``: every id, the tail. With ``after`` (an earlier state of the
    same history) only entries past its ``last_seq`` are read, from the segment holding the
    next one on."""
    state = _ChainState(tip=tip)
    if after is not None:
        state.last_seq, state.last_hash = after.last_seq, after.last_hash
        state.ids = set(after.ids)
        state.tail.extend(after.tail)
    if tip is None:
        return state
    tree = repo[tip].peel(pygit2.Tree)
    first = audit_module.segment_name(state.last_seq + 1)
    raw_tail: collections.deque[bytes] = collections.deque(maxlen=TAIL_ENTRIES)
    for path, content in _segments(repo, tree, first=first if after is not None else ""):
        for number, line in _scan_lines(content):
            try:
                data = json.loads(line)
                seq, key, digest = int(data["seq"]), str(data["id"]), str(data["hash"])
            except (ValueError, KeyError, TypeError):
                log.warning("status branch: %s:%d is not an audit entry (skipped; "
                            "`molthub audit verify` reports it)", path, number)
                continue
            if after is not None:
                if seq <= after.last_seq:
                    continue
                if seq == after.last_seq + 1 and data.get("prev") != after.last_hash:
                    state.follows = False
            state.ids.add(key)
            state.last_seq, state.last_hash = seq, digest
            raw_tail.append(line)
    parsed = []
    for line in raw_tail:
        try:
            parsed.append(AuditEntry.model_validate_json(line))
        except ValueError:
            continue
    state.tail.extend(parsed)
    return state


# --------------------------------------------------------------------------- the branch


class _Rejected(Exception):
    """The remote refused our push because its branch moved (internal)."""


def _open_repository(path: Path, *, discover: bool) -> pygit2.Repository:
    if not path.exists():
        raise InputError.single("no-repository", f"{path}: no such file or directory",
                                hint="give --repo a Git repository (a path or a URL)")
    try:
        found = pygit2.discover_repository(str(path)) if discover else str(path)
        if found is None:
            raise pygit2.GitError("not found")
        return pygit2.Repository(found)
    except (pygit2.GitError, OSError, ValueError):
        raise InputError.single("not-a-repository", f"{path}: not a Git repository",
                                hint="give --repo a Git repository (a path or a URL)") from None


class StatusBranch:
    """The status branch of one local repository whose remote ``remote`` is the config
    repository. Blocking (pygit2); callers run it in a thread. One publish at a time."""

    def __init__(self, repo_path: Path, *, branch: str = DEFAULT_BRANCH,
                 remote: str = "origin",
                 callbacks: Callable[[], pygit2.RemoteCallbacks] | None = None,
                 author: tuple[str, str] = ("molthub-sync", "molthub-sync@localhost"),
                 clock: Clock | None = None, attempts: int = 5,
                 retry_delay: float = 0.2) -> None:
        self.repo_path = Path(repo_path)
        self.branch = branch
        self.remote_name = remote
        self._callbacks = callbacks
        self._author = author
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.max_attempts = max(1, attempts)
        self.retry_delay = max(0.0, retry_delay)
        try:
            self._repo = pygit2.Repository(str(self.repo_path))
            remote_obj = self._repo.remotes[remote]
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise GitError(f"{self.repo_path}: not a repository with a remote {remote!r} "
                           f"({type(exc).__name__})", retryable=False) from None
        self.display_url = scrub_url(remote_obj.url or "")
        self._state: _ChainState | None = None
        self._lock = threading.Lock()  # guards _state (read by has()/recent() from the loop)
        self._publish_lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311 - backoff jitter, not security

    # -- reading

    @property
    def local_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def tracking_ref(self) -> str:
        return f"refs/remotes/{self.remote_name}/{self.branch}"

    @property
    def tip(self) -> str | None:
        """The last commit of the branch we know (loaded or pushed)."""
        with self._lock:
            return self._state.tip if self._state else None

    def has(self, event: str) -> bool:
        """Whether ``event`` is an id already in the log (as loaded or published)."""
        with self._lock:
            return self._state is not None and event in self._state.ids

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` entries (at most :data:`TAIL_ENTRIES`), oldest first."""
        with self._lock:
            if self._state is None or limit <= 0:
                return []
            return list(self._state.tail)[-limit:]

    def _read(self, tip: str | None, *, after: _ChainState | None = None) -> _ChainState:
        """:func:`_scan` of ``tip``, after checking it is a status branch at all: a branch
        named like the config branch by mistake must never get status commits on top."""
        if tip is not None:
            tree = self._repo[tip].peel(pygit2.Tree)
            readme = _blob_data(self._repo, tree, "README.md") or b""
            if len(tree) and "status.json" not in tree and "audit" not in tree \
                    and not readme.startswith(README_TEXT.split("\n", 1)[0].encode()):
                raise GitError(f"branch {self.branch!r} exists and is not a molthub status "
                               "branch; refusing to write to it (choose another status "
                               "branch name)", url=self.display_url, retryable=False)
        return _scan(self._repo, tip, after=after)

    def _make_callbacks(self) -> pygit2.RemoteCallbacks:
        return self._callbacks() if self._callbacks is not None else pygit2.RemoteCallbacks()

    def _fetch(self) -> str | None:
        """Fetch the branch from the remote; its tip there, ``None`` when it has none."""
        refs = self._repo.references
        if self.tracking_ref in refs:
            refs.delete(self.tracking_ref)  # a branch deleted on the remote must not linger
        try:
            self._repo.remotes[self.remote_name].fetch(
                [f"+{self.local_ref}:{self.tracking_ref}"], callbacks=self._make_callbacks())
        except pygit2.GitError as exc:
            raise GitError(f"cannot fetch {self.branch!r}: {scrub_url(str(exc))}",
                           url=self.display_url) from None
        if self.tracking_ref not in refs:
            return None
        return str(refs[self.tracking_ref].target)

    def load(self, *, fetch: bool = True) -> LoadedStatus:
        """Fetch the branch (unless ``fetch`` is false: the local copy) and read it whole."""
        with self._publish_lock:
            tip = self._fetch() if fetch else self._local_tip()
            state = self._read(tip)
            with self._lock:
                self._state = state
            if tip is not None:
                self._repo.references.create(self.local_ref, tip, force=True)
            status = None
            if tip is not None:
                status = _read_status(self._repo, self._repo[tip].peel(pygit2.Tree),
                                      strict=False)
            return LoadedStatus(status=status,
                                chain=AuditChain(state.last_seq, state.last_hash, state.ids),
                                entries_tail=list(state.tail), commit=tip)

    def _local_tip(self) -> str | None:
        for ref in (self.tracking_ref, self.local_ref):
            if ref in self._repo.references:
                return str(self._repo.references[ref].target)
        return None

    # -- writing

    def publish(self, status: StatusSnapshot | None, drafts: Sequence[AuditDraft],
                message: str) -> PublishResult:
        """Chain ``drafts`` after the log, write them with ``status`` (``None``: keep the
        status files as they are) as one commit, and push it; after a rejected push, fetch,
        re-chain after the other writer's entries and retry. Raises :class:`PushRejected`
        when every attempt was rejected, :class:`GitError` for other failures; the branch
        state is unchanged then, and the same drafts can be published again."""
        files = status_files(status) if status is not None else None
        pending = list(drafts)
        with self._publish_lock:
            if self._state is None:
                first = self._read(self._fetch())
                with self._lock:
                    self._state = first
            attempts = 0
            while True:
                state = self._state
                assert state is not None
                entries = self._chain(state, pending)
                base = self._repo[state.tip].peel(pygit2.Commit) if state.tip else None
                base_tree = base.tree if base is not None else None
                tree = self._build_tree(base_tree, files, entries)
                unchanged = (base_tree.id == tree) if base_tree is not None else files is None
                if not entries and unchanged:
                    return PublishResult(commit=None, entries=[], attempts=attempts)
                when = int(self._clock.now())
                signature = pygit2.Signature(self._author[0], self._author[1], when, 0)
                commit = self._repo.create_commit(
                    None, signature, signature, message, tree,
                    [base.id] if base is not None else [])
                attempts += 1
                try:
                    self._push(commit, state.tip)
                except _Rejected:
                    if attempts >= self.max_attempts:
                        raise PushRejected(
                            f"push of {self.branch!r} rejected {attempts} times: other "
                            "writers keep moving it", url=self.display_url) from None
                    log.info("status branch: push rejected (attempt %d), fetching and "
                             "replaying %d entries", attempts, len(entries))
                    self._backoff(attempts)
                    self._replay(state)
                    continue
                self._committed(state, str(commit), entries)
                return PublishResult(commit=str(commit), entries=entries, attempts=attempts)

    @staticmethod
    def _chain(state: _ChainState, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
        fresh = [d for d in drafts if (d.id or event_id(d)) not in state.ids]
        return AuditChain(state.last_seq, state.last_hash).append(fresh)

    def _build_tree(self, base: pygit2.Tree | None, files: dict[str, bytes] | None,
                    entries: Sequence[AuditEntry]) -> pygit2.Oid:
        repo = self._repo
        root = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()

        def put(builder: pygit2.TreeBuilder, name: str, content: bytes) -> None:
            old = builder.get(name)
            if old is not None and old.type == pygit2.GIT_OBJECT_BLOB \
                    and old.id == pygit2.hash(content):
                return
            builder.insert(name, repo.create_blob(content), _BLOB)

        put(root, "README.md", README_TEXT.encode())
        if files is not None:
            put(root, "status.json", files["status.json"])
            old_bots = _subtree(repo, base, "bots")
            bots = repo.TreeBuilder(old_bots) if old_bots is not None else repo.TreeBuilder()
            wanted = {path.split("/", 1)[1]: data for path, data in files.items()
                      if path.startswith("bots/")}
            for item in list(old_bots or []):
                if item.name is not None and item.name not in wanted:
                    bots.remove(item.name)
            for name, data in sorted(wanted.items()):
                put(bots, name, data)
            if len(bots):
                root.insert("bots", bots.write(), _TREE)
            elif root.get("bots") is not None:
                root.remove("bots")
        if entries:
            old_audit = _subtree(repo, base, "audit")
            audit = repo.TreeBuilder(old_audit) if old_audit is not None else repo.TreeBuilder()
            by_segment: dict[str, list[str]] = {}
            for entry in entries:
                by_segment.setdefault(audit_module.segment_name(entry.seq), []).append(
                    AuditChain.line(entry))
            for path, lines in by_segment.items():
                name = path.split("/", 1)[1]
                existing = _blob_data(repo, old_audit, name) or b""
                if existing and not existing.endswith(b"\n"):
                    existing += b"\n"
                data = existing + ("\n".join(lines) + "\n").encode()
                audit.insert(name, repo.create_blob(data), _BLOB)
            root.insert("audit", audit.write(), _TREE)
        return root.write()

    def _push(self, commit: pygit2.Oid, base_tip: str | None) -> None:
        # Pushed from a scratch ref, deleted right after: a local ref pointing at a commit the
        # remote lacks makes libgit2's local transport send the whole history on fetch.
        scratch = f"refs/molthub/push/{self.branch}"
        self._repo.references.create(scratch, commit, force=True)
        try:
            self._push_ref(scratch, base_tip)
        finally:
            if scratch in self._repo.references:
                self._repo.references.delete(scratch)

    def _push_ref(self, scratch: str, base_tip: str | None) -> None:
        callbacks = self._make_callbacks()
        rejections: list[str] = []
        previous_hook = getattr(callbacks, "push_update_reference", None)

        def on_update(refname: str, message: str | None) -> None:
            if message:
                rejections.append(message)
            if previous_hook is not None:
                previous_hook(refname, message)

        callbacks.push_update_reference = on_update  # type: ignore[method-assign]
        spec = f"{scratch}:{self.local_ref}"
        failure: str | None = None
        try:
            self._repo.remotes[self.remote_name].push([spec], callbacks=callbacks)
        except pygit2.GitError as exc:
            failure = str(exc)
        if failure is None and not rejections:
            return
        # A local or file:// remote reports a non-fast-forward as an error, a smart remote
        # as a rejected reference: tell a race apart from other refusals (a protected
        # branch, no permission) by looking at where the remote branch is now.
        self._repo.references.delete(scratch)
        if self._fetch() != base_tip:
            raise _Rejected
        reason = failure if failure is not None else "; ".join(rejections)
        raise GitError(f"cannot push {self.branch!r}: {scrub_url(reason)}",
                       url=self.display_url)

    def _backoff(self, attempt: int) -> None:
        if self.retry_delay <= 0:
            return
        delay = min(self.retry_delay * 2 ** (attempt - 1), 5.0)
        time.sleep(delay * (0.5 + self._rng.random()))

    def _replay(self, state: _ChainState) -> None:
        """Move onto the remote's new tip: read the entries the other writer added."""
        tip = self._fetch()
        if tip is not None and state.tip is not None and (
                tip == state.tip or self._repo.descendant_of(tip, state.tip)):
            fresh = self._read(tip, after=state)
            if fresh.follows:
                with self._lock:
                    self._state = fresh
                return
        # The branch was created, rewritten or its entries do not follow ours: read it all.
        if state.tip is not None:
            log.warning("status branch: the remote branch does not extend what we read; "
                        "reading it again")
        whole = self._read(tip)
        with self._lock:
            self._state = whole

    def _committed(self, state: _ChainState, commit: str, entries: Sequence[AuditEntry]
                   ) -> None:
        new = _ChainState(tip=commit, last_seq=state.last_seq, last_hash=state.last_hash,
                          ids=state.ids, tail=state.tail)
        with self._lock:
            for entry in entries:
                new.ids.add(entry.id)
                new.tail.append(entry)
            if entries:
                new.last_seq, new.last_hash = entries[-1].seq, entries[-1].hash
            self._state = new
        self._repo.references.create(self.local_ref, commit, force=True)
        self._repo.references.create(self.tracking_ref, commit, force=True)


# --------------------------------------------------------------------------- the writer


class StatusWriter:
    """The daemon's audit sink: queues events and publishes them with the status.

    ``record`` never blocks; ``flush`` publishes (in a thread) the queued drafts in batches
    of ``max_batch``, each batch with the current status in one commit; a failed publish
    keeps the drafts for the next try. ``run`` flushes every ``interval`` seconds while
    there is something to write, until cancelled (the final flush is the caller's).
    """

    def __init__(self, branch: StatusBranch, clock: Clock, *,
                 status: Callable[[], DaemonStatus], interval: float = 2.0,
                 max_batch: int = 1000) -> None:
        self.branch = branch
        self._clock = clock
        self._status = status
        self.interval = interval
        self.max_batch = max(1, max_batch)
        self._queue: list[AuditDraft] = []
        self._queued: set[str] = set()
        self._dirty = False
        self._generation = 0
        self._flush_lock = asyncio.Lock()
        self.last_error: str | None = None
        self.last_result: PublishResult | None = None
        self.failures = 0

    async def load(self) -> LoadedStatus:
        """Fetch and read the status branch (in a thread)."""
        return await asyncio.to_thread(self.branch.load)

    def record(self, draft: AuditDraft) -> None:
        key = draft.id or event_id(draft)
        if key in self._queued or self.branch.has(key):
            return
        update: dict[str, Any] = {"id": key}
        if not draft.time:
            update["time"] = iso(self._clock.now())
        self._queue.append(draft.model_copy(update=update))
        self._queued.add(key)

    def has(self, event: str) -> bool:
        return event in self._queued or self.branch.has(event)

    def mark_dirty(self) -> None:
        self._dirty = True
        self._generation += 1

    @property
    def pending(self) -> int:
        """Drafts recorded and not yet published."""
        return len(self._queue)

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        return self.branch.recent(limit)

    async def flush(self) -> bool:
        """Publish what is queued (and the status) now; ``False`` when publishing failed
        (logged; the drafts stay queued)."""
        async with self._flush_lock:
            while True:
                if not self._queue and not self._dirty:
                    return True
                batch = self._queue[: self.max_batch]
                last = len(self._queue) <= self.max_batch
                generation = self._generation
                message = (f"molthub: status, {len(batch)} audit entries" if batch
                           else "molthub: status")
                if not last:
                    message = f"molthub: {len(batch)} audit entries"
                try:
                    # the status goes with the last batch only: an earlier batch committed
                    # with it would show results whose entries are not on the branch yet
                    snapshot = self._status().to_json_dict() if last else None
                    result = await asyncio.to_thread(self.branch.publish, snapshot, batch,
                                                     message)
                except Exception as exc:  # keep running: the next interval retries
                    self.failures += 1
                    self.last_error = scrub_url(str(exc))[:500]
                    log.warning("status branch: publish failed (%s): %s; %d drafts kept",
                                type(exc).__name__, self.last_error, len(self._queue))
                    return False
                self.last_result = result
                self.last_error = None
                del self._queue[: len(batch)]
                for draft in batch:
                    self._queued.discard(draft.id)
                if last and self._generation == generation:
                    self._dirty = False
                if not self._queue:
                    return True

    async def run(self) -> None:
        while True:
            await self._clock.sleep(self.interval)
            if self._queue or self._dirty:
                await self.flush()


# --------------------------------------------------------------------------- readers


def _resolve_branch(repo: pygit2.Repository, branch: str) -> str:
    candidates = [f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"]
    candidates += sorted(r for r in repo.references
                         if r.startswith("refs/remotes/") and r.endswith(f"/{branch}"))
    for ref in candidates:
        if ref in repo.references:
            try:
                return str(repo.references[ref].peel(pygit2.Commit).id)
            except (pygit2.GitError, ValueError):
                continue
    raise InputError.single(
        "no-status-branch", f"the repository has no branch {branch!r}",
        hint="the sync daemon creates it on its first publish; check --branch, or fetch it "
             f"first (git fetch origin {branch})")


def read_status_branch(repo_path: Path, branch: str = DEFAULT_BRANCH, *,
                       subdir_ok: bool = True, limit: int | None = TAIL_ENTRIES
                       ) -> tuple[DaemonStatus | None, list[AuditEntry]]:
    """The status and the newest ``limit`` audit entries (``None``: all) of ``branch`` in a
    local repository (its own branch, or origin's remote-tracking one), without fetching.
    :class:`InputError` when there is no repository, no such branch or a broken status file."""
    repo = _open_repository(Path(repo_path), discover=subdir_ok)
    tree = repo[_resolve_branch(repo, branch)].peel(pygit2.Tree)
    status = _read_status(repo, tree, strict=True)
    lines: collections.deque[tuple[str, int, bytes]] = collections.deque(maxlen=limit)
    for path, content in _segments(repo, tree):
        for number, line in _scan_lines(content):
            lines.append((path, number, line))
    entries: list[AuditEntry] = []
    for path, number, line in lines:
        try:
            entries.append(AuditEntry.model_validate_json(line))
        except ValueError:
            raise InputError.single(
                "bad-audit-entry", "not an audit entry", Location(path, number),
                hint="run `molthub audit verify` to check the log") from None
    return status, entries


def _audit_lines(segments: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, int, str]]:
    for path, content in segments:
        text = content.decode("utf-8", errors="replace")
        parts = text.split("\n")
        if parts and parts[-1] == "":
            parts.pop()
        for number, line in enumerate(parts, start=1):
            yield path, number, line


def verify_audit(repo_path: Path, branch: str = DEFAULT_BRANCH) -> AuditVerdict:
    """Check the audit chain of ``branch`` in a local repository, segment by segment."""
    repo = _open_repository(Path(repo_path), discover=True)
    commit = _resolve_branch(repo, branch)
    segments = _segments(repo, repo[commit].peel(pygit2.Tree))
    lines = list(_audit_lines(segments))
    count, breaks = verify_chain(lines)
    last_hash = None
    if not breaks and lines:
        last_hash = str(json.loads(lines[-1][2])["hash"])
    return AuditVerdict(entries=count, breaks=list(breaks), last_hash=last_hash,
                        commit=commit, branch=branch)


def is_url(text: str) -> bool:
    """Whether ``text`` names a remote repository (``scheme://`` or scp-like ``user@host:``)."""
    return bool(_URL_LIKE.match(text))

