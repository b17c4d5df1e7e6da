"""The loaded form of a fleet config repository: validated documents with their source positions.

This is the contract between loading (``repo`` reads bytes, ``model.loader`` parses and checks
them) and everything above (rendering, policy, planning). It is pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from molthub_gitops.errors import Location
from molthub_gitops.model.documents import (
    Fleet,
    Overlay,
    PolicyException,
    PolicyPack,
    Profile,
    Repository,
    Strict,
    Template,
)

PathKey = tuple[str | int, ...]
"""A path inside one YAML document, e.g. ``("spec", "config", "gateway", "port")``."""

D = TypeVar("D", bound=Strict)


@dataclass(frozen=True)
class SourceDoc(Generic[D]):
    """One validated document and where it came from.

    ``positions`` maps a path inside the document to the location of the mapping key (for a
    mapping entry) or of the item (for a sequence item) at that path; ``()`` is the document's
    start. Paths use the YAML (camelCase) key names, exactly as written in the file.
    """

    doc: D
    file: str
    index: int
    positions: Mapping[PathKey, Location] = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.doc.metadata.name  # type: ignore[attr-defined, no-any-return]

    @property
    def kind(self) -> str:
        return type(self.doc).__name__

    def loc(self, *path: str | int) -> Location:
        """Location of ``path``, or of its nearest ancestor that has one."""
        key: PathKey = tuple(path)
        while key:
            found = self.positions.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return self.positions.get((), Location(self.file))


@dataclass(frozen=True)
class FleetRepository:
    """Every document of a config repository, validated and cross-checked.

    ``source`` names where it was read from (a directory path, or ``<path>@<rev>``), for
    messages. The mappings are keyed by ``metadata.name`` and iterate in name order.
    """

    source: str
    repository: SourceDoc[Repository]
    templates: Mapping[str, SourceDoc[Template]]
    profiles: Mapping[str, SourceDoc[Profile]]
    overlays: Mapping[str, SourceDoc[Overlay]]
    fleets: Mapping[str, SourceDoc[Fleet]]
    policy_packs: Mapping[str, SourceDoc[PolicyPack]]
    policy_exceptions: Mapping[str, SourceDoc[PolicyException]]
