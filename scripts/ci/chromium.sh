#!/usr/bin/env bash
# Debian's Chromium for the web view's browser tests (test/web/browser.test.ts), which drive it
# with playwright-core at /usr/bin/chromium (playwright never downloads a browser here).
#
#   bash scripts/ci/chromium.sh       # install it if missing; print its version
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --headless --no-sandbox --disable-gpu --version 2>/dev/null || /usr/bin/chromium --version
