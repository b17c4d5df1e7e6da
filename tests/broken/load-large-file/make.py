"""Builds the broken repository of this case (it cannot be checked in as static files)."""

import pathlib

FILES = {
    "molthub.yaml": """\
apiVersion: molthub/v1
kind: Repository
metadata:
  name: broken-case
spec:
  openclawVersions: ["2026.9.6"]
""",
    "templates/base.yaml": """\
apiVersion: molthub/v1
kind: Template
metadata:
  name: base
spec:
  description: Minimal OpenClaw config.
  config:
    gateway:
      mode: local
""",
    "fleets/dev.yaml": """\
apiVersion: molthub/v1
kind: Fleet
metadata:
  name: dev
spec:
  environment: dev
  template: base
  openclawVersion: "2026.9.6"
  gateway:
    url: "ws://{{ bot.name }}.bots.internal:18789"
    auth: token
    secret: {env: GW_TOKEN}
  bots:
    - name: bot-one
    - name: bot-two
""",
}


def make(root: pathlib.Path) -> None:
    """Write the repository into ``root``."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    # 6 MiB: over the 5 MiB limit (comments only, so only its size is wrong).
    line = "# " + "x" * 1021 + "\n"
    (root / "fleets" / "huge.yaml").write_text(line * (6 * 1024), encoding="utf-8")
