#!/usr/bin/env bash
# Installs what the console's build check and browser tests need: Debian's Chromium (Playwright never downloads a
# browser here) and the console's npm packages (package-lock.json, cached under ~/.cache/npm).
set -euo pipefail
cd "$(dirname "$0")/.."

# Japanese pages need a Japanese font (the screenshots show the Japanese console).
if ! command -v "${CHROMIUM:-chromium}" > /dev/null 2>&1 || ! fc-list :lang=ja 2>/dev/null | grep -q .; then
  echo "installing Debian's chromium and a Japanese font" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium fonts-ipafont-gothic > /dev/null ||
    { $sudo apt-get update -q > /dev/null && $sudo apt-get install -y -q chromium fonts-ipafont-gothic > /dev/null; }
fi

export npm_config_cache="$HOME/.cache/npm" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd crates/cairn-console/web
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
fi
