#!/usr/bin/env bash
# Turn the one-node test cluster (scripts/setup-slurm.sh) into one of several nodes, idempotently (as root):
#   - the node image msb/slurm-node:<hash of scripts/slurm-node/> built once from the bootstrapped Debian base of
#     images/cpu.yaml (slurmd and munge from Debian, no registry), then cached;
#   - a private Docker network msb-slurm (MSB_SLURM_NODE_NET.0/24; the host, where slurmctld stays, is .1);
#   - N (MSB_SLURM_NODES, default 2) containers msb-node1..N at .11, .12, ... running slurmd with the host's munge key
#     and the host's slurm.conf (bind-mounted), in which `edge` is msb-node1, `datacenter` msb-node2..N and
#     `localhost` stays alone in `local`, the default partition;
#   - bind mounts at the same paths as on the host: this checkout, the Python that runs the tool (its venv and the
#     interpreter the venv points to), the shared experiment root (MSB_SHARED_ROOT, default /tmp, where the tests
#     make their experiments), any MSB_NODE_MOUNTS (colon-separated), and /var/run/docker.sock: the jobs' own
#     containers run on the host's engine, so a stopped node does not stop them (their stdin, held by the node's
#     build.py, does: exit_on_stdin_eof).
# A cluster that already answers with its nodes is left alone. `docker stop msb-node2` loses that node for real;
# `docker start msb-node2` brings it back (ReturnToService=2, or `scontrol update NodeName=msb-node2 State=RESUME`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

log() { printf '[setup-slurm-nodes] %s\n' "$*" >&2; }
nodes=${MSB_SLURM_NODES:-2}
net=${MSB_SLURM_NODE_NET:-172.28.213}
shared=${MSB_SHARED_ROOT:-/tmp}
python=${MSB_PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
export MSB_SLURM_NODES=$nodes MSB_SLURM_NODE_NET=$net

all_up() {
  local i; for i in $(seq "$nodes"); do
    [ "$(docker inspect -f '{{.State.Running}}' "msb-node$i" 2>/dev/null)" = true ] || return 1
    sinfo -h -n "msb-node$i" -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)' || return 1
  done
}
# Nodes that mount another checkout (an earlier clone, another worktree) cannot run this one's build.py: not "up".
mounts_here() {
  local i; for i in $(seq "$nodes"); do
    docker inspect -f '{{range .Mounts}}{{.Source}}{{"\n"}}{{end}}' "msb-node$i" 2>/dev/null | grep -qxF "$repo" || return 1
  done
}
if all_up && mounts_here && grep -q "^NodeName=msb-node$nodes NodeAddr=$net.$((10 + nodes)) " /etc/slurm/slurm.conf 2>/dev/null; then
  log "the cluster answers with its nodes: $(sinfo -h -o '%P %N %T' | tr '\n' ';')"; exit 0
fi
[ "$(id -u)" -eq 0 ] || { log "run this script as root"; exit 1; }
docker info >/dev/null 2>&1 || { log "no Docker engine answers: run scripts/setup-host.sh first"; exit 1; }

# The node image, built once: the bootstrapped base of images/cpu.yaml (the tool bootstraps it when absent).
base=$(awk '/^base:/ {b=1} b && /^  image:/ {i=$2} b && /^  tag:/ {t=$2} END {print i ":" t}' images/cpu.yaml)
if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "bootstrapping $base (about a minute)"
  "$python" - <<PY
from msb.descriptions.image import load_image_spec
from msb.engine import DockerEngine
from msb.image.bootstrap import ensure_base
from msb.project import Project
from pathlib import Path
ensure_base(load_image_spec(Project(Path("$repo")), "cpu"), DockerEngine(), print)
PY
fi
digest=$( (docker image inspect -f '{{.Id}}' "$base"; cat scripts/slurm-node/Dockerfile scripts/slurm-node/entrypoint.sh) \
  | sha256sum | cut -c1-12)
image=msb/slurm-node:$digest
if ! docker image inspect "$image" >/dev/null 2>&1; then
  log "building $image from $base (apt-get from the Debian mirror; about a minute, once)"
  docker build -q --build-arg "BASE=$base" -t "$image" scripts/slurm-node >/dev/null
fi

# The network, and slurm.conf naming the nodes (setup-slurm.sh restarts slurmctld when it changes).
if ! docker network inspect msb-slurm >/dev/null 2>&1; then
  docker network create --subnet "$net.0/24" --gateway "$net.1" msb-slurm >/dev/null
fi
bash scripts/setup-slurm.sh

# The mounts, at the host's paths.
prefixes=$("$python" -c 'import sys; print(sys.prefix); print(sys.base_prefix)')
paths=("$repo" "$shared")
while IFS= read -r p; do paths+=("$(readlink -f "$p")"); done <<<"$prefixes"
IFS=: read -r -a extra <<<"${MSB_NODE_MOUNTS:-}"
paths+=("${extra[@]}")
mounts=(-v /var/run/docker.sock:/var/run/docker.sock -v /etc/slurm/slurm.conf:/etc/slurm/slurm.conf:ro
        -v /etc/munge/munge.key:/run/msb/munge.key:ro)
for p in $(printf '%s\n' "${paths[@]}" | grep . | sort -u); do mounts+=(-v "$p:$p"); done

controller=$(hostname -s)
# A node made from another image or with other mounts is made again.
made=$(printf '%s\n' "$image" "$controller" "${mounts[@]}" | sha256sum | cut -c1-12)
for i in $(seq "$nodes"); do
  name=msb-node$i
  current=$(docker inspect -f '{{index .Config.Labels "io.mlperf-builder.slurm-node"}}' "$name" 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != "$made" ]; then
    log "replacing $name (made from other settings)"; docker rm -f "$name" >/dev/null
    current=
  fi
  if [ -z "$current" ]; then
    log "starting $name at $net.$((10 + i))"
    docker run -d --init --name "$name" --hostname "$name" --network msb-slurm --ip "$net.$((10 + i))" \
      --add-host "$controller:$net.1" --label "io.mlperf-builder.slurm-node=$made" "${mounts[@]}" "$image" >/dev/null
  elif [ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]; then
    log "starting $name again"; docker start "$name" >/dev/null
  fi
done

for _ in $(seq 60); do all_up && break; sleep 1; done
if ! all_up; then
  # Nodes left DOWN by an earlier life come back once told so.
  for i in $(seq "$nodes"); do scontrol update "NodeName=msb-node$i" State=RESUME 2>/dev/null || true; done
  for _ in $(seq 20); do all_up && break; sleep 1; done
fi
all_up || { log "the nodes did not come up; see docker logs msb-node1 and /var/log/slurm/slurmctld.log"; exit 1; }
log "slurm $(sinfo -V | awk '{print $2}'): $(sinfo -h -o '%P %N %T' | tr '\n' ' ')"
