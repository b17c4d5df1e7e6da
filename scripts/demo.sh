#!/usr/bin/env bash
# The first command a new user runs: install molthub-gitops into .venv, then `molthub demo`:
# example-repo copied into a temporary Git repository, rolled out to simulated OpenClaw
# gateways by the sync daemon, with the status page on http://127.0.0.1:8080. Arguments go to
# `molthub demo` (e.g. --port 8081, --real). Ctrl-C stops it and removes its temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e .
exec .venv/bin/molthub demo "$@"
