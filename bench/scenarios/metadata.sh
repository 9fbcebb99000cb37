#!/usr/bin/env bash
# metadata: the gateway beside MinIO direct on what moves no data. LIST of a prefix of
# 10,000 keys (every page); HEAD storms (concurrency 32) on a strict mount and on a
# `consistency=ttl` mount; and HEADs through a gateway with 100 mounts (the object under
# the longest of 100 nested mount paths) against one with a single mount.
#   bench/scenarios/metadata.sh            # the full table (minutes)
#   bench/scenarios/metadata.sh --smoke    # a few seconds, tiny counts: that it runs
# KEYS (listed), OBJECTS (HEADed), MOUNTS, CONC, DURATION and ROUNDS override the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KEYS=${KEYS:-10000} OBJECTS=${OBJECTS:-1000} MOUNTS=${MOUNTS:-100} CONC=${CONC:-32}
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3}
if [ "${1:-}" = --smoke ]; then
  KEYS=30 OBJECTS=8 MOUNTS=5 CONC=2 DURATION=600ms ROUNDS=2
fi
binaries
start_minio
start_gateway gw
mount_minio gw /meta
mount_minio gw /meta-ttl -o consistency=ttl:600
start_gateway many
# One mount at the bucket, the others nested under it; the rows' objects are under the
# longest of them.
mount_minio many /many
for i in $(seq 2 $((MOUNTS - 1))); do
  mount_minio_at many "/many/other/m$i" "s3://bench/other/m$i"
done
mount_minio_at many /many/lb/4KiB/many s3://bench/lb/4KiB/many
M="$MINIO_USER $MINIO_SECRET"
G="$GW_KEY $GW_SECRET"
direct="$(target direct "$MINIO_URL" bench $M "$MINIO_PID")"
echo "# metadata: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $ARUSTIO_BIN"

# LIST: every page of a 10,000-key prefix (empty objects, put into MinIO directly).
"$ARUSTIO_BENCH_BIN" --workload put --size 0 --concurrency 8 --rounds 1 --ops "$KEYS" --objects "$KEYS" \
  --duration 1h --keep --no-progress --target "$(target seed "$MINIO_URL" bench $M),prefix=list/" >/dev/null
"$ARUSTIO_BENCH_BIN" --workload list --list-existing --prefix list/ --concurrency 1 \
  --duration "$DURATION" --rounds "$ROUNDS" --no-progress \
  --target "$direct" \
  --target "$(target gateway "$GW_URL_gw" meta $G "$GW_PID_gw")"

# HEAD storms, each row on its own objects (the gateway keeps HEADs by store and key).
seed_rows 4KiB "$OBJECTS" direct strict ttl one many
"$ARUSTIO_BENCH_BIN" --workload stat --list-existing --warmup --concurrency "$CONC" \
  --duration "$DURATION" --rounds "$ROUNDS" --no-progress \
  --target "$direct,prefix=lb/4KiB/direct/" \
  --target "$(target strict "$GW_URL_gw" meta $G "$GW_PID_gw"),prefix=lb/4KiB/strict/" \
  --target "$(target ttl "$GW_URL_gw" meta-ttl $G "$GW_PID_gw"),prefix=lb/4KiB/ttl/"

# Resolution: HEADs through the gateway with 2 mounts, and through the longest of $MOUNTS.
"$ARUSTIO_BENCH_BIN" --workload stat --list-existing --warmup --concurrency "$CONC" \
  --duration "$DURATION" --rounds "$ROUNDS" --no-progress \
  --target "$direct,prefix=lb/4KiB/direct/" \
  --target "$(target mounts-2 "$GW_URL_gw" meta $G "$GW_PID_gw"),prefix=lb/4KiB/one/" \
  --target "$(target "mounts-$MOUNTS" "$GW_URL_many" many $G "$GW_PID_many"),prefix=lb/4KiB/many/"
