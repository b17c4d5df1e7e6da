#!/usr/bin/env bash
# Install everything the tests need, from scratch, then run every check CI runs:
# a virtualenv with the package and its [dev] tools, Node 24 and the real OpenClaw gateways
# (for the conformance suite), Debian's chromium (for the status page's browser test) and
# openssh-server (for the ssh transport tests),
# then ruff, mypy --strict, the import-linter layer contracts and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
bash scripts/install-openclaw.sh
# Headless Chromium for the status page's browser test (Debian's package; as root only).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium (apt) for the status page's browser test"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# OpenSSH's server for the ssh transport tests (tests/sync/test_source_ssh.py; as root only).
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null; then
  echo "installing openssh-server (apt) for the ssh transport tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi

step() { printf '\n== %s\n' "$*"; }
step "ruff"
.venv/bin/ruff check .
step "mypy --strict"
.venv/bin/mypy molthub_gitops
step "import-linter (layers)"
.venv/bin/lint-imports
step "pytest"
.venv/bin/python -m pytest "$@"
