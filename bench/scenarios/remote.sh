#!/usr/bin/env bash
# remote: MinIO behind a delayed link (bench/delayproxy.py: DELAY_MS each way, 10 by
# default, so a 20 ms round trip; RATE_MBIT caps each connection's bandwidth, none by
# default). Rows: MinIO direct through the link, the gateway cold (its cache freed before
# every round, every object read once a round), warm, and warm on a `consistency=ttl` mount;
# GETs of 4 KiB, 1 MiB and 64 MiB at concurrency 1, 8 and 32.
#   bench/scenarios/remote.sh            # the full table (minutes)
#   bench/scenarios/remote.sh --smoke    # a few seconds, tiny sizes: that it runs
# SIZES, CONC, DURATION, ROUNDS, OBJECTS, DELAY_MS, RATE_MBIT and CACHE_MEMORY (4GiB, as in
# loopback.sh) override the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
read -r -a SIZES <<<"${SIZES:-4KiB 1MiB 64MiB}"
read -r -a CONC <<<"${CONC:-1 8 32}"
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3} OBJECTS=${OBJECTS:-200}
DELAY_MS=${DELAY_MS:-10} RATE_MBIT=${RATE_MBIT:-0} CACHE_MEMORY=${CACHE_MEMORY:-4GiB}
if [ "${1:-}" = --smoke ]; then
  SIZES=(4KiB) CONC=(2) DURATION=600ms ROUNDS=2 OBJECTS=8
fi
binaries
start_minio
start_delayproxy "$MINIO_URL" "$DELAY_MS" "$RATE_MBIT"
DIRECT_URL=$PROXY_URL STORE_URL=$PROXY_URL
start_gateway gw --cache-memory "$CACHE_MEMORY" --cache-disk-dir "$WORK/cache" --cache-disk 8GiB
mount_rows
echo "# remote: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $ARUSTIO_BIN, cache memory $CACHE_MEMORY, ${DELAY_MS} ms each way, rate cap ${RATE_MBIT} Mbit/s (0: none)"
for size in "${SIZES[@]}"; do
  get_tables "$size" direct cold warm warm-ttl
done
