#!/usr/bin/env bash
# Installs Debian's Prometheus for the grafana tests, which run the binary themselves (temp config,
# temp storage, their own port); the package's own service is not used.
set -euo pipefail

if command -v prometheus >/dev/null; then
  echo "setup-prometheus: $(prometheus --version 2>&1 | head -n 1)"
  exit 0
fi
source "$(dirname "$0")/lib/apt.sh"
apt_install --no-install-recommends prometheus
# The package starts its service where an init system runs; the tests need only the binary.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
fi
echo "setup-prometheus: $(prometheus --version 2>&1 | head -n 1)"
