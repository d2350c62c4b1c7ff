#!/usr/bin/env bash
# Installs podman + runc (no Docker engine on these machines) and docker-compose (its `config`
# command validates compose.yaml without an engine), configures podman for these machines
# (runc, as crun fails under cgroups hybrid mode; host network; no default ulimits), and starts a
# Docker-compatible API socket for dockerode. Idempotent: safe to run repeatedly.
set -euo pipefail

SOCKET_PATH=${EMBEDBENCH_PODMAN_SOCKET:-/run/embedbench-podman.sock}
source "$(dirname "$0")/lib/apt.sh"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v docker-compose >/dev/null; then
  apt_install podman runc docker-compose
fi

# crun fails on these hosts (cgroups hybrid mode, setrlimit); runc works.
containers_conf=$(cat <<'CONF'
[containers]
default_ulimits = []
netns = "host"
[engine]
runtime = "runc"
CONF
)
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$containers_conf" ]; then
  $SUDO mkdir -p /etc/containers
  printf '%s\n' "$containers_conf" | $SUDO tee /etc/containers/containers.conf >/dev/null
fi

if ! server_version=$(podman --url "unix://$SOCKET_PATH" version --format '{{.Server.Version}}' 2>/dev/null) || [ -z "$server_version" ]; then
  rm -f "$SOCKET_PATH"
  setsid nohup podman system service --time=0 "unix://$SOCKET_PATH" >/tmp/embedbench-podman-service.log 2>&1 < /dev/null &
  for _ in $(seq 1 50); do
    [ -S "$SOCKET_PATH" ] && break
    sleep 0.2
  done
  [ -S "$SOCKET_PATH" ] || { echo "setup-podman: API socket $SOCKET_PATH did not appear (see /tmp/embedbench-podman-service.log)" >&2; exit 1; }
fi
echo "setup-podman: $(podman --version), runtime runc, API at unix://$SOCKET_PATH"
