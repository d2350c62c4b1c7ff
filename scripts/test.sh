#!/usr/bin/env bash
# The project's one test command (README and .ci/run). On a fresh Debian machine it installs and
# starts what the tests use for real (Prometheus, Chromium, a single-node Slurm cluster, podman with
# a Docker-compatible socket and the CPU images built from local base images), then runs lint,
# type-check and every test suite. Tests that need one of these fail, never skip, under CI=true.
# When it ends, however it ends, it stops every process it started that is still running.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh
started_at=$SECONDS

# Every process started from here on inherits this variable; the ones still running at the end
# (the cluster and podman daemons the setup scripts start, anything a failed test left behind) are
# found by it. Daemons started through sudo lose it, so those are also told apart by name below.
export EMBEDBENCH_TEST_RUN="$$.$(date +%s%N)"
RUN_MARK="EMBEDBENCH_TEST_RUN=$EMBEDBENCH_TEST_RUN"

# PIDs of the processes that carry this run's mark, this shell and its subshell excluded.
marked_pids() {
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] || continue
    if grep -qzxF "$RUN_MARK" "$environ" 2>/dev/null; then echo "$pid"; fi
  done
}

# The daemons the setup scripts start when they are not running yet. Those that appear while the
# setup scripts run are this run's (the mark covers them too, unless sudo dropped it).
daemon_pids() {
  { pgrep -x munged; pgrep -x slurmctld; pgrep -x slurmd; pgrep -f '^podman system service'; } 2>/dev/null || true
}
daemons_before=" $(daemon_pids | tr '\n' ' ') "
started_daemons=
daemons_started_by_setup() {
  local pid
  for pid in $(daemon_pids); do
    [[ $daemons_before == *" $pid "* ]] || echo "$pid"
  done
}

stop_started_processes() {
  local status=$? pid id conmon pids=() alive
  set +e
  trap - EXIT INT TERM
  [ -n "$started_daemons" ] || started_daemons=$(daemons_started_by_setup)
  # Containers whose conmon this run started (through a podman service it started): removed with podman.
  for id in $(podman ps -q 2>/dev/null); do
    conmon=$(podman inspect --format '{{.State.ConmonPid}}' "$id" 2>/dev/null)
    if [ -n "$conmon" ] && grep -qzxF "$RUN_MARK" "/proc/$conmon/environ" 2>/dev/null; then
      podman rm -f "$id" >/dev/null 2>&1
    fi
  done
  for pid in $(marked_pids) $started_daemons; do
    [[ " ${pids[*]} " == *" $pid "* ]] || pids+=("$pid")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    echo "== stopping what this run started and left running: $(ps -o comm= -p "$(IFS=,; echo "${pids[*]}")" | sort | uniq -c |
      awk '{ printf "%s%s%s", sep, $2, ($1 > 1 ? " x" $1 : ""); sep = ", " }')"
    $SUDO kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 1 50); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" -eq 0 ] && break
      sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && $SUDO kill -KILL "$pid" 2>/dev/null; done
  fi
  echo "== scripts/test.sh $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $(( (SECONDS - started_at) / 60 ))m$(( (SECONDS - started_at) % 60 ))s"
  exit "$status"
}
trap stop_started_processes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What a run installs and builds, said before it starts.
packages=(prometheus chromium slurm-wlm munge podman runc docker-compose debootstrap libvulkan1)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
images_built=false
if command -v podman >/dev/null && podman image exists embedbench/transformers:cpu 2>/dev/null && podman image exists embedbench/onnx:cpu 2>/dev/null; then
  images_built=true
fi
cat <<NOTICE
scripts/test.sh runs lint, type-check and every test suite against real tools:
  Debian packages: $([ ${#missing[@]} -eq 0 ] && echo "all installed already" || echo "installs ${missing[*]} (apt-get${SUDO:+ through sudo})")
  images: $($images_built && echo "embedbench/{transformers,onnx}:cpu exist; a source change rebuilds their top layers" || echo "builds embedbench/transformers:cpu and embedbench/onnx:cpu with podman (about 600 MB each) from base images it makes with debootstrap")
  WebGPU without a GPU: unpacks Mesa 25's lavapipe Vulkan driver (bookworm-backports) into .cache/lavapipe
  daemons: starts a single-node Slurm cluster (munged, slurmctld, slurmd) and podman's API service
    unless they run already, and stops the ones it started when it ends
  time on a 2-core machine: about 21 minutes the first time (measured: 7 min installing and building
    images, 13.5 min of tests); later runs skip the installs and take about 15 minutes (estimated)
NOTICE

for setup in setup-prometheus setup-chromium setup-lavapipe setup-slurm setup-images; do
  echo "== scripts/$setup.sh"
  bash "scripts/$setup.sh"
done
started_daemons=$(daemons_started_by_setup)

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== npm test"
npm test
