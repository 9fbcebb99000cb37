#!/usr/bin/env bash
# bigobject: one 5 GiB object PUT, then GET, through the gateway beside MinIO direct, with
# the gateway's peak RSS against its configured cache (CACHE_MEMORY, 512MiB by default, no
# disk tier). The GET is cold: the gateway's cache is freed before it.
#   bench/scenarios/bigobject.sh            # 5 GiB (needs about 11 GiB of disk under /tmp)
#   bench/scenarios/bigobject.sh --smoke    # 64 MiB: that it runs
# SIZE and CACHE_MEMORY override the defaults. The load generator holds the body in memory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIZE=${SIZE:-5GiB} CACHE_MEMORY=${CACHE_MEMORY:-512MiB}
if [ "${1:-}" = --smoke ]; then
  SIZE=64MiB
fi
binaries
start_minio
start_gateway gw --cache-memory "$CACHE_MEMORY"
mount_minio gw /bench-big
M="$MINIO_USER $MINIO_SECRET"
G="$GW_KEY $GW_SECRET"
echo "# bigobject: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $ARUSTIO_BIN, cache memory $CACHE_MEMORY"
targets=(
  --target "$(target direct "$MINIO_URL" bench $M "$MINIO_PID"),prefix=big/direct/"
  --target "$(target gateway "$GW_URL_gw" bench-big $G "$GW_PID_gw"),prefix=big/gateway/"
)
"$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload put --size "$SIZE" --concurrency 1 --rounds 1 --ops 1 \
  --duration 1h --keep --no-progress
"$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload get --list-existing --each-once --concurrency 1 --rounds 1 \
  --duration 1h --no-progress --before-round "$(free_hook gateway /bench-big)"
