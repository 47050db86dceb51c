#!/usr/bin/env bash
# Installs code-server + playwright-core for the VS Code end-to-end test (tests/vscode/run.sh).
# Needs apt: chromium ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev (and build-essential).
# Skips the install when node_modules already matches package-lock.json (CI caches ~/.npm and this dir).
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.simdlens-installed
want="$(sha256sum package-lock.json 2>/dev/null | cut -d' ' -f1)-$(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/code-server ]; then
  echo "vscode e2e: node_modules up to date"
  exit 0
fi

# @vscode/ripgrep's postinstall downloads rg from GitHub unless its tarball is already in
# $TMPDIR/vscode-ripgrep-cache-<package version>/: put Debian's rg there.
rg_bin="$(command -v rg)" || { echo "vscode e2e: ripgrep (apt) is needed" >&2; exit 1; }
seed="$(mktemp -d)"
trap 'rm -rf "$seed"' EXIT
mkdir -p "$seed/rg"
cp "$rg_bin" "$seed/rg/rg"
# code-server 4.100.3's VS Code pins @vscode/ripgrep 1.15.11, whose postinstall fetches v13.0.0-10
for pkg_tag in 1.15.11:v13.0.0-10 1.15.14:v13.0.0-13; do
  pkg="${pkg_tag%%:*}" tag="${pkg_tag##*:}"
  mkdir -p "$seed/vscode-ripgrep-cache-$pkg"
  tar czf "$seed/vscode-ripgrep-cache-$pkg/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$seed/rg" rg
done

# node-pty's postinstall runs `npx node-gyp`; as root code-server's postinstall wants unsafe-perm
export npm_config_yes=true npm_config_unsafe_perm=true TMPDIR="$seed"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
echo "$(sha256sum package-lock.json | cut -d' ' -f1)-$(node --version)" > "$stamp"
