#!/usr/bin/env bash
# The first command a new user runs: install molthub-gitops into .venv and show it at work on
# the bundled example repository (validate, render one bot, explain one value, and what a
# pull request changing a template does to each bot).
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
printf '\n== a pull request: change the Telegram template, then molthub validate --base HEAD\n'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R example-repo "$work/fleet"
git -C "$work/fleet" init --quiet --initial-branch=main
git -C "$work/fleet" add -A
git -C "$work/fleet" -c user.name=demo -c user.email=demo@example.com commit --quiet -m base
sed -i.bak 's/default: anthropic\/claude-sonnet-4-5/default: anthropic\/claude-opus-4-1/' \
  "$work/fleet/templates/telegram-support.yaml" && rm "$work/fleet/templates/telegram-support.yaml.bak"
"$molthub" validate "$work/fleet" --base HEAD || true
printf '\nNext, with .venv/bin on PATH: molthub render example-repo | less  (every bot),\n'
printf '  molthub validate example-repo --rev HEAD  (straight from Git), molthub --help\n'
