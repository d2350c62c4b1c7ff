#!/usr/bin/env bash
# Installs Debian's Chromium for the playground test (driven headless by playwright-core, which
# cannot download a browser build here).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'installed')"
  exit 0
fi
source "$(dirname "$0")/lib/apt.sh"
apt_install --no-install-recommends chromium
echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'installed')"
