#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine for the cluster tests (and a first try of `--slurm`), idempotently:
#   - Debian's slurmctld, slurmd, slurm-client and munge when missing (bookworm: Slurm 22.05);
#   - munged with the packaged key; a slurm.conf of ours with the node `localhost` in two partitions
#     (`edge`, default, and `datacenter`) so systems can be sent to different partitions;
#   - slurmctld and slurmd started in the background (no systemd here), then `sinfo` must show the node idle.
# A cluster that already answers is left alone; a slurm.conf that is not ours is never overwritten.
# MSB_SLURM_NODES=N (N >= 2; scripts/setup-slurm-nodes.sh sets it) writes N more nodes msb-node1..N at
# MSB_SLURM_NODE_NET.(10+i) (containers on a private Docker network, started by that script): then `edge` is msb-node1,
# `datacenter` msb-node2..N and `localhost` is alone in `local`, the default; a changed slurm.conf restarts slurmctld.
# Accounting (slurmdbd) is not set up: job completions go to a text file (jobcomp/filetxt), which the tool reads.
set -euo pipefail

log() { printf '[setup-slurm] %s\n' "$*" >&2; }
conf=/etc/slurm/slurm.conf
marker="# written by mlperf-submission-builder scripts/setup-slurm.sh"

# Unset: as many container nodes as our slurm.conf names already (so a plain run keeps them).
nodes=${MSB_SLURM_NODES:-$(grep -c '^NodeName=msb-node' "$conf" 2>/dev/null || true)}
nodes=${nodes:-0}
net=${MSB_SLURM_NODE_NET:-172.28.213}
if [ "$nodes" -ne 0 ] && [ "$nodes" -lt 2 ]; then log "MSB_SLURM_NODES must be 0 or at least 2"; exit 1; fi
has_nodes() {  # slurm.conf names msb-node1..N as we would write them
  local i; for i in $(seq "$nodes"); do
    grep -q "^NodeName=msb-node$i NodeAddr=$net.$((10 + i)) " "$conf" 2>/dev/null || return 1
  done
}
if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc' && has_nodes; then
  log "a Slurm cluster answers: $(sinfo -h -o '%P %D %T' | tr '\n' ';')"; exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "no Slurm cluster answers; run this script as root to install and start a one-node cluster"; exit 1
fi

need_apt=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need_apt+=("${pair#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# munge: the packaged key, or a new one where the package left none.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 20); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.25; done
fi

if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  log "$conf exists and is not ours; start that cluster's daemons, or move it away"; exit 1
fi
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
text=$(cat <<CONF
$marker
ClusterName=msb
SlurmctldHost=$(hostname -s)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
# No cgroups in containers and CI machines: track processes by their parents, and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# A job's end stays visible to scontrol for an hour; its completion (state, exit code) goes to a text file.
MinJobAge=3600
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
# A node that went down comes back by itself once its slurmd answers again.
ReturnToService=2
SlurmdTimeout=30
KillWait=10
CONF
)
# localhost comes after the other nodes: while Slurm reads the node lines, a single node named localhost answers to
# every name, so a second node after it is refused as a duplicate ("Duplicated NodeHostName msb-node1").
for i in $(seq "$nodes"); do
  text+=$'\n'"NodeName=msb-node$i NodeAddr=$net.$((10 + i)) CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN"
done
text+=$'\n'"NodeName=localhost NodeHostname=localhost CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN"
if [ "$nodes" -eq 0 ]; then
  text+=$'\n'"PartitionName=edge Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
  text+=$'\n'"PartitionName=datacenter Nodes=localhost MaxTime=INFINITE State=UP OverSubscribe=NO"
else
  text+=$'\n'"PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
  text+=$'\n'"PartitionName=edge Nodes=msb-node1 MaxTime=INFINITE State=UP OverSubscribe=NO"
  text+=$'\n'"PartitionName=datacenter Nodes=msb-node[2-$nodes] MaxTime=INFINITE State=UP OverSubscribe=NO"
fi
old=$(cat "$conf" 2>/dev/null || true)
# Written in place (same inode): the node containers bind-mount this file.
[ "$text" = "$old" ] || printf '%s\n' "$text" >"$conf"
if [ "$text" != "$old" ] && [ -n "$old" ] && pgrep -x slurmctld >/dev/null; then
  # Nodes added or removed: Slurm 22.05 reads them only at slurmctld's start (jobs survive in StateSaveLocation).
  log "slurm.conf changed: restarting slurmctld"
  kill "$(cat /run/slurmctld.pid)"
  for _ in $(seq 30); do pgrep -x slurmctld >/dev/null || break; sleep 0.5; done
  /usr/sbin/slurmctld
  for _ in $(seq 30); do scontrol ping >/dev/null 2>&1 && break; sleep 0.5; done
  scontrol reconfigure || true
fi

pgrep -x slurmctld >/dev/null || { log "starting slurmctld"; /usr/sbin/slurmctld; }
pgrep -x slurmd >/dev/null || { log "starting slurmd"; /usr/sbin/slurmd -N localhost; }
for _ in $(seq 30); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc' && break
  sleep 1
done
if ! sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
  # A node left DOWN by an earlier session comes back once told so.
  scontrol update NodeName=localhost State=RESUME 2>/dev/null || true
  sleep 2
fi
sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc' || {
  log "the node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log"; exit 1
}
log "slurm $(sinfo -V | awk '{print $2}'): $(sinfo -h -o '%P %T' | tr '\n' ' ')"
