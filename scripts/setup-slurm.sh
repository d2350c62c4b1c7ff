#!/usr/bin/env bash
# Installs Slurm + munge and starts a single-node cluster (partition "cpu") on this machine with
# the minimal slurm.conf written below. Idempotent: an already idle cluster is left as it is.
set -euo pipefail

source "$(dirname "$0")/lib/apt.sh"

if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "setup-slurm: cluster already up: $(sinfo -h -o '%P %D %T' | tr '\n' ' ')"
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt_install slurm-wlm munge
fi

host=$(hostname -s)
# Leave memory headroom for the OS and the other processes on this machine.
real_memory_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.75 }' /proc/meminfo)
slurm_conf=$(cat <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$(nproc) RealMemory=$real_memory_mb State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$slurm_conf" ]; then
  $SUDO mkdir -p /etc/slurm
  printf '%s\n' "$slurm_conf" | $SUDO tee /etc/slurm/slurm.conf >/dev/null
fi

$SUDO mkdir -p /var/spool/slurmctld /var/spool/slurmd /run/munge
$SUDO chown munge:munge /run/munge
pgrep -x munged >/dev/null || $SUDO runuser -u munge -- munged --force
pgrep -x slurmctld >/dev/null || $SUDO slurmctld
pgrep -x slurmd >/dev/null || $SUDO slurmd

for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "setup-slurm: cluster up: $(sinfo -h -o '%P %D %T %c CPUs %m MB' | tr '\n' ' ')"
    exit 0
  fi
  sleep 1
done
echo "setup-slurm: node did not become idle within 60 s: $(sinfo 2>&1 | tr '\n' ' ')" >&2
exit 1
