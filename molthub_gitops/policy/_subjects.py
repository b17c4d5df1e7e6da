"""The value a rule's ``path`` points into, per ``subject``.

* ``config``: the rendered OpenClaw config (read through ``section_values``, the renderer's
  shared sections, when present: no per-bot copy is built);
* ``target``: the fleet's target (``provider``, ``settings``), camelCase as in YAML;
* ``gateway``: the bot's gateway access (``url`` as rendered for the bot, ``auth``, ``secret``);
* ``bot``: the bot's identity (``name``, ``fleet``, ``environment``, ``labels``).

A :class:`SubjectReader` belongs to one compiled check (so to one evaluation) and caches model
dumps per model object: the bots of a fleet share its target, dumped once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from molthub_gitops.render.types import RenderedBot

__all__ = ["SubjectReader", "config_root"]


def config_root(bot: RenderedBot) -> Mapping[str, Any]:
    """The bot's config as a mapping of top-level sections (read only)."""
    return bot.section_values or bot.config


class SubjectReader:
    """Reads the subject value of bots, caching model dumps (read only results)."""

    __slots__ = ("_dumps", "subject")

    def __init__(self, subject: str) -> None:
        if subject not in ("config", "target", "gateway", "bot"):
            raise ValueError(f"unknown rule subject {subject!r}")
        self.subject = subject
        self._dumps: dict[int, tuple[BaseModel, dict[str, Any]]] = {}

    def _dump(self, model: BaseModel) -> dict[str, Any]:
        hit = self._dumps.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        value = model.model_dump(by_alias=True, mode="json", exclude_none=True)
        self._dumps[id(model)] = (model, value)  # the model is kept: its id stays unique
        return value

    def value(self, bot: RenderedBot) -> Any:
        """The value rule paths of this subject resolve against."""
        subject = self.subject
        if subject == "config":
            return config_root(bot)
        if subject == "target":
            return self._dump(bot.target)
        if subject == "gateway":
            return {**self._dump(bot.gateway), "url": bot.gateway_url}
        return {"name": bot.name, "fleet": bot.fleet, "environment": bot.environment,
                "labels": dict(bot.labels)}
