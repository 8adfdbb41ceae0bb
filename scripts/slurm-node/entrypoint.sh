#!/bin/sh
# PID 2 of a test-cluster node (docker run --init is PID 1): munged with the host's key, then slurmd in the foreground.
# Runs again on `docker start` after a `docker stop`, so stale pid files and sockets of the last life are removed.
set -eu
install -o munge -g munge -m 0400 /run/msb/munge.key /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
runuser -u munge -- /usr/sbin/munged --force
mkdir -p /var/spool/slurmd /var/log/slurm
rm -f /run/slurmd.pid
exec /usr/sbin/slurmd -D -N "$(hostname)"
