#!/usr/bin/env bash
# Installs Debian's Chromium for the playground test (driven headless by playwright-core, which
# cannot download a browser build here).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'installed')"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
flock /tmp/apt.lock sh -c "$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null"
echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'installed')"
