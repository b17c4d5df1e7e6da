#!/usr/bin/env bash
# The first command a new user runs: install molthub-gitops into .venv and show it at work on
# the bundled example repository (render every bot, validate, explain one value).
# The sync daemon's live demo (`molthub demo`) arrives with the sync daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

molthub=.venv/bin/molthub
printf '\n== molthub validate example-repo\n'
"$molthub" validate example-repo
printf '\n== molthub render example-repo --bot %s\n' "${DEMO_BOT:-support-eu-01}"
"$molthub" render example-repo --bot "${DEMO_BOT:-support-eu-01}"
printf '\n== molthub explain support-eu-07 channels.telegram.historyLimit example-repo\n'
"$molthub" explain support-eu-07 channels.telegram.historyLimit example-repo
printf '\nNext, with .venv/bin on PATH: molthub render example-repo | less  (every bot),\n'
printf '  molthub validate example-repo --rev HEAD  (straight from Git), molthub --help\n'
