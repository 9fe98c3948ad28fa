#!/usr/bin/env bash
# Installs what the console's build check and browser tests need: Debian's Chromium (Playwright never downloads a
# browser here), a Japanese font, and the console's npm packages (package-lock.json, cached under ~/.cache/npm).
set -euo pipefail
cd "$(dirname "$0")/.."

# Node.js and npm build the console and run Playwright (a fresh machine normally has them).
packages=()
command -v npm > /dev/null 2>&1 || packages+=(nodejs npm)
command -v "${CHROMIUM:-chromium}" > /dev/null 2>&1 || packages+=(chromium)
# Japanese pages need a Japanese font (the screenshots show the Japanese console).
fc-list :lang=ja 2>/dev/null | grep -q . || packages+=(fonts-ipafont-gothic)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "${packages[@]}" > /dev/null ||
    { $sudo apt-get update -q > /dev/null && $sudo apt-get install -y -q "${packages[@]}" > /dev/null; }
fi

export npm_config_cache="$HOME/.cache/npm" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd crates/cairn-console/web
# node_modules/.cairn-lock is the lock file node_modules was installed from.
if ! cmp -s package-lock.json node_modules/.cairn-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.cairn-lock
fi
