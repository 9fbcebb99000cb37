#!/usr/bin/env bash
# loopback: MinIO as the store, everything on 127.0.0.1. Rows: MinIO direct, the gateway
# with caching off, cold (its cache freed before every round, and every object read once a
# round: each read a miss), warm, and warm on a mount with `consistency=ttl` (no store
# request for a warm GET), for GETs of 4 KiB, 1 MiB and 64 MiB objects at concurrency 1, 8
# and 32; then PUTs; and iperf3 on loopback, the ceiling for large objects.
#   bench/scenarios/loopback.sh            # the full table (minutes)
#   bench/scenarios/loopback.sh --smoke    # a few seconds, tiny sizes: that it runs
# SIZES, CONC, DURATION (per target and table), ROUNDS, OBJECTS (per row, for 4 KiB;
# fewer for larger sizes) and CACHE_MEMORY (4GiB: the memory tier holds the warm sets of
# the three caching rows, 3 GiB at 64 MiB; a disk tier of 8 GiB is behind it) override the
# defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
read -r -a SIZES <<<"${SIZES:-4KiB 1MiB 64MiB}"
read -r -a CONC <<<"${CONC:-1 8 32}"
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3} OBJECTS=${OBJECTS:-1000} CACHE_MEMORY=${CACHE_MEMORY:-4GiB}
if [ "${1:-}" = --smoke ]; then
  SIZES=(4KiB) CONC=(2) DURATION=600ms ROUNDS=2 OBJECTS=8 IPERF_SECS=1
fi
binaries
start_minio
start_gateway gw --cache-memory "$CACHE_MEMORY" --cache-disk-dir "$WORK/cache" --cache-disk 8GiB
mount_rows
echo "# loopback: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $ARUSTIO_BIN, cache memory $CACHE_MEMORY"
for size in "${SIZES[@]}"; do
  get_tables "$size" direct cache-off cold warm warm-ttl
  # PUTs, each row under its own prefix, removed after.
  targets=()
  for row in direct cache-off warm; do targets+=(--target "$(row_target "$row" "$size")put/"); done
  "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload put --size "$size" --concurrency "${CONC[-1]}" \
    --duration "$DURATION" --rounds "$ROUNDS" --objects "$(objects_for "$size")" --no-progress
done
iperf3_ceiling
