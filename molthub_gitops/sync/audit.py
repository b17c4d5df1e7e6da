"""The audit log: append-only entries, each chained to the one before by a sha256 hash.

An entry records who did what to which bot, from which commit, with the config hash before
and after, the result, the rollout and the reason. ``prev`` is the previous entry's ``hash``
(64 zeros for the first) and ``hash`` is the sha256 of the entry's canonical JSON without its
own ``hash`` field, so changing, removing or reordering any entry breaks every later link:
:func:`verify_chain` finds the first break (``molthub audit verify``).

``id`` is a deterministic key of *what happened* (rollout, bot, action, target hash), not of
when: a daemon that restarts and re-derives an event it had already recorded sees the id in
the log and does not write it twice (:meth:`AuditChain.has`).

On the status branch the log is ``audit/NNNNNN.jsonl`` segments of at most
:data:`SEGMENT_ENTRIES` lines each; the chain runs across segments. Entries never hold a
secret: reasons and errors are scrubbed before they are drafted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import Field

from molthub_gitops.sync.state import StatusModel

__all__ = [
    "GENESIS",
    "SEGMENT_ENTRIES",
    "AuditAction",
    "AuditChain",
    "AuditDraft",
    "AuditEntry",
    "AuditSink",
    "ChainBreak",
    "entry_hash",
    "event_id",
    "segment_name",
    "verify_chain",
]

GENESIS = "0" * 64
SEGMENT_ENTRIES = 5000

AuditAction = Literal[
    "apply",  # a config was written to a bot as part of a rollout
    "rollback",  # a bot was put back on its previous config
    "drift",  # a bot's config was found changed outside Git
    "heal",  # drift corrected (selfHeal)
    "gate-failed",  # a commit failed validation and was not applied
    "rollout-started",
    "rollout-succeeded",
    "rollout-failed",
    "rollout-aborted",
    "rollout-superseded",
    "rollout-paused",
    "rollout-resumed",
    "rollout-promoted",
    "rollback-requested",  # a user asked to roll a fleet back to an older commit
]

AuditResult = Literal["ok", "failed", "skipped", "info"]


class AuditDraft(StatusModel):
    """An event before it is chained: what the daemon hands to the audit sink."""

    actor: str
    """``molthub-sync`` for the daemon, ``api:<token name>`` / ``cli`` for a user action."""
    action: AuditAction
    result: AuditResult = "ok"
    commit: str | None = None
    fleet: str | None = None
    bot: str | None = None
    hash_before: str | None = None
    hash_after: str | None = None
    rollout_id: str | None = None
    reason: str = ""
    time: str = ""
    """ISO-8601 UTC; filled by the sink from its clock when empty."""
    id: str = ""
    """Dedup key; :func:`event_id` of the other fields when empty."""


class AuditEntry(AuditDraft):
    """A chained entry, as stored (one JSON object per line)."""

    seq: int = Field(ge=1)
    prev: str
    hash: str


def event_id(draft: AuditDraft) -> str:
    """The deterministic dedup key of an event (independent of its time and reason)."""
    parts = [draft.action, draft.rollout_id or "", draft.fleet or "", draft.bot or "",
             draft.commit or "", draft.hash_after or "", draft.result]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry_without_hash: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of an entry's fields except ``hash``."""
    data = {k: v for k, v in entry_without_hash.items() if k != "hash"}
    return hashlib.sha256(_canonical(data)).hexdigest()


def segment_name(seq: int) -> str:
    """The status-branch file holding entry ``seq``: ``audit/000001.jsonl`` for 1..5000."""
    return f"audit/{(seq - 1) // SEGMENT_ENTRIES + 1:06d}.jsonl"


def _chain_one(draft: AuditDraft, seq: int, prev: str) -> AuditEntry:
    data = draft.to_json_dict()
    if not data.get("id"):
        data["id"] = event_id(draft)
    data["seq"] = seq
    data["prev"] = prev
    data["hash"] = entry_hash(data)
    return AuditEntry.model_validate(data)


class AuditChain:
    """The tail of a chain in memory: the last hash and seq, and the ids already recorded.

    ``append`` chains drafts onto the tail (skipping ids already present) and returns the new
    entries. ``rebase(last_seq, last_hash, ids)`` moves the tail onto another chain end (after
    a push race: our unpushed entries are re-chained after the other writer's).
    """

    def __init__(self, last_seq: int = 0, last_hash: str = GENESIS,
                 ids: Iterable[str] = ()) -> None:
        self.last_seq = last_seq
        self.last_hash = last_hash
        self._ids: set[str] = set(ids)

    def has(self, event: str) -> bool:
        return event in self._ids

    def append(self, drafts: Iterable[AuditDraft]) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        for draft in drafts:
            key = draft.id or event_id(draft)
            if key in self._ids:
                continue
            entry = _chain_one(draft.model_copy(update={"id": key}), self.last_seq + 1,
                               self.last_hash)
            self._ids.add(key)
            self.last_seq = entry.seq
            self.last_hash = entry.hash
            out.append(entry)
        return out

    @staticmethod
    def line(entry: AuditEntry) -> str:
        """The entry as one line of its segment (canonical JSON, no trailing newline)."""
        return _canonical(entry.to_json_dict()).decode()


@dataclass(frozen=True)
class ChainBreak:
    """Where and how a chain is broken (``seq`` of the offending entry, 0 if unknown)."""

    seq: int
    where: str
    """``audit/000001.jsonl:17`` (file:line)."""
    message: str


def verify_chain(lines: Sequence[tuple[str, int, str]]) -> tuple[int, list[ChainBreak]]:
    """Check entries given as ``(file, line number, text)`` in order.

    Returns the number of entries read and the breaks found: a line that is not an entry, a
    ``seq`` out of order, a ``prev`` that is not the previous ``hash``, or a ``hash`` that is
    not the hash of the entry (it was edited).
    """
    breaks: list[ChainBreak] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    for file, lineno, text in lines:
        where = f"{file}:{lineno}"
        try:
            data = json.loads(text)
            entry = AuditEntry.model_validate(data)
        except (ValueError, TypeError) as exc:
            breaks.append(ChainBreak(expected_seq, where, f"not an audit entry ({exc})"[:300]))
            return count, breaks
        count += 1
        if entry.seq != expected_seq:
            breaks.append(ChainBreak(entry.seq, where,
                                     f"seq {entry.seq} where {expected_seq} was expected "
                                     "(an entry was removed, duplicated or reordered)"))
        if entry.prev != prev:
            breaks.append(ChainBreak(entry.seq, where,
                                     "prev does not match the previous entry's hash "
                                     "(an entry before it was changed or removed)"))
        if entry_hash(data) != entry.hash:
            breaks.append(ChainBreak(entry.seq, where,
                                     "hash does not match the entry (it was edited)"))
        prev = entry.hash
        expected_seq = entry.seq + 1
        if breaks:
            return count, breaks
    return count, breaks


class AuditSink(Protocol):
    """Where the daemon's components send events (the status-branch writer implements it).

    ``record`` never blocks and never fails: the sink fills ``time`` from its clock, chains
    the entry and commits it with the next batch. ``has`` says whether an event id is
    already in the log (recorded in this run or read back from the status branch).
    """

    def record(self, draft: AuditDraft) -> None: ...

    def has(self, event: str) -> bool: ...
