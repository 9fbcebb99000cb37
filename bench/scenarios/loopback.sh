#!/usr/bin/env bash
# loopback: MinIO as the store, everything on 127.0.0.1. Rows: MinIO direct, the gateway
# with caching off, cold (its cache freed before every round), warm, and warm on a mount with
# `consistency=ttl` (no store request for a warm GET), for GETs of 4 KiB,
# 1 MiB and 64 MiB objects at concurrency 1, 8 and 32; then PUTs.
#   bench/scenarios/loopback.sh            # the full table (minutes)
#   bench/scenarios/loopback.sh --smoke    # a few seconds, tiny sizes: that it runs
# SIZES, CONC, DURATION (per target and table), ROUNDS and OBJECTS override the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
read -r -a SIZES <<<"${SIZES:-4KiB 1MiB 64MiB}"
read -r -a CONC <<<"${CONC:-1 8 32}"
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3} OBJECTS=${OBJECTS:-32}
if [ "${1:-}" = --smoke ]; then
  SIZES=(4KiB) CONC=(2) DURATION=600ms ROUNDS=2 OBJECTS=4
fi
binaries
start_minio
start_gateway gw
mount_minio gw /bench-off -o cache=false
mount_minio gw /bench-cold
mount_minio gw /bench-warm
mount_minio gw /bench-ttl -o consistency=ttl:600
M="$MINIO_USER $MINIO_SECRET"
G="$GW_KEY $GW_SECRET"
targets=(
  --target "$(target direct "$MINIO_URL" bench $M "$MINIO_PID")"
  --target "$(target cache-off "$GW_URL_gw" bench-off $G "$GW_PID_gw")"
  --target "$(target cold "$GW_URL_gw" bench-cold $G "$GW_PID_gw")"
  --target "$(target warm "$GW_URL_gw" bench-warm $G "$GW_PID_gw")"
  --target "$(target warm-ttl "$GW_URL_gw" bench-ttl $G "$GW_PID_gw")"
)
cold="cold=ARUSTIO_SERVER=$GW_GRPC_gw ARUSTIO_ACCESS_KEY=$GW_KEY ARUSTIO_SECRET_KEY=$GW_SECRET $ARUSTIO_BIN cache free /bench-cold -R >/dev/null"
echo "# loopback: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores"
for size in "${SIZES[@]}"; do
  # Large objects: fewer of them, so that the store and the cache hold them easily.
  objects=$OBJECTS
  [ "$size" = 64MiB ] && objects=$(( OBJECTS < 4 ? OBJECTS : 4 ))
  for c in "${CONC[@]}"; do
    "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload get --size "$size" --concurrency "$c" \
      --duration "$DURATION" --rounds "$ROUNDS" --objects "$objects" --before-round "$cold" --warmup --no-progress
  done
  "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload put --size "$size" --concurrency "${CONC[-1]}" \
    --duration "$DURATION" --rounds "$ROUNDS" --objects "$objects" --no-progress
done
