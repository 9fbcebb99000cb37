#!/usr/bin/env bash
# soak: 10 minutes of mixed load (PUT, GET, LIST, DELETE; 1 KiB to 1 MiB) at concurrency 64
# through a 3-node cluster with the cache on and two users, over MinIO. The leader is
# killed in the middle (and started 15 s later), a follower restarted at three quarters.
# Prints the errors by kind, each node's RSS over time, and a checksum comparison of every
# object written. A script to run and read, not a CI test (see bench/soak.py).
#   bench/scenarios/soak.sh                 # 600 s
#   DURATION=120 bench/scenarios/soak.sh    # shorter
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
binaries
need_venv
need_minio
export ARUSTIO_BIN MINIO_BIN
exec "$VENV/bin/python" "$ROOT/bench/soak.py" "$@"
