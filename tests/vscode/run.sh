#!/usr/bin/env bash
# The simdlens extension in a real VS Code (code-server + headless Chromium; see e2e.mjs).
#   tests/vscode/run.sh [--keep] [--screenshots DIR]
# Installs what it needs: apt chromium, ripgrep and the headers code-server's native modules build
# against (sudo when not root); code-server and playwright-core with npm (tests/vscode/install.sh,
# skipped when node_modules matches package-lock.json); the extension's VSIX when it is not built.
# Uses the server in $SIMDLENS_VENV (default .venv). Exits non-zero when any step or check fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
missing=()
for pkg in chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev build-essential; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vscode e2e: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

"$here/install.sh"

VENV="${SIMDLENS_VENV:-.venv}"
server="$repo/$VENV/bin/simdlens"
[ -x "$server" ] || server="$VENV/bin/simdlens"
vsix="$repo/vscode-extension/simdlens.vsix"
if [ ! -f "$vsix" ] || [ -n "$(find vscode-extension/src vscode-extension/package.json -newer "$vsix" | head -1)" ]; then
  (cd vscode-extension && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run package)
fi
exec node "$here/e2e.mjs" --server "$server" --vsix "$vsix" "$@"
