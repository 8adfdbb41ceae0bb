#!/usr/bin/env bash
# Set up a fresh Debian machine (as root) for mlperf-submission-builder, idempotently:
#   - Debian's docker.io and debootstrap when missing, and a running dockerd;
#   - a virtual environment .venv with the tool, the harness and the test dependencies;
#   - a Slurm test cluster when none answers (scripts/setup-slurm.sh: the host's node `localhost`), and its two
#     container nodes msb-node1 (`edge`) and msb-node2 (`datacenter`) (scripts/setup-slurm-nodes.sh; the node image
#     is built once, about two minutes, then cached). MSB_SLURM_NODES=0 leaves the cluster at one node.
# Verified on Debian bookworm (see shared ENVIRONMENT notes): Docker Engine 20.10, classic builder, no registry.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need_apt[*]}; run this script as root (or install them with apt-get)"; exit 1
  fi
  log "installing ${need_apt[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    log "no Docker engine answers; start dockerd (as root) or run this script as root"; exit 1
  fi
  log "starting dockerd (log: /var/log/msb-dockerd.log)"
  nohup dockerd >/var/log/msb-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see /var/log/msb-dockerd.log"; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.msb-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[harness,test]'
  touch "$stamp"
fi
# The cluster tests need a Slurm cluster; one on this machine is started when none answers, with its container nodes.
bash scripts/setup-slurm.sh
if [ "${MSB_SLURM_NODES:-2}" != 0 ]; then
  MSB_PYTHON=.venv/bin/python bash scripts/setup-slurm-nodes.sh
fi
log "ready"
