# Shared by the scenario scripts: the binaries, free ports, MinIO and gateways on
# 127.0.0.1, each stopped by its PID when the script exits. Source it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
WORK="$(mktemp -d /tmp/arustio-bench-XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

MINIO_USER=bench-user
MINIO_SECRET=bench-secret-key
GW_KEY=BENCHGATEWAYKEY01
GW_SECRET=bench-gateway-secret

# The binaries: ARUSTIO_BIN and ARUSTIO_BENCH_BIN, or the test build (built if missing).
binaries() {
  if [ -z "${ARUSTIO_BIN:-}" ] || [ -z "${ARUSTIO_BENCH_BIN:-}" ]; then
    need_rust
    (cd "$ROOT" && use_lint_build && cargo build -q --workspace --all-targets)
    ARUSTIO_BIN="${ARUSTIO_BIN:-$CARGO_TARGET_DIR/debug/arustio}"
    ARUSTIO_BENCH_BIN="${ARUSTIO_BENCH_BIN:-$CARGO_TARGET_DIR/debug/arustio-bench}"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() { # PORT WHAT
  local i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start on port $1" >&2
  exit 1
}

# start_minio: sets MINIO_URL and MINIO_PID; makes the bucket `bench`.
start_minio() {
  need_minio
  local port console i
  port=$(free_port)
  console=$(free_port)
  mkdir -p "$WORK/minio"
  MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_SECRET "$MINIO_BIN" server "$WORK/minio" \
    --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" --quiet >"$WORK/minio.log" 2>&1 &
  MINIO_PID=$!
  PIDS+=("$MINIO_PID")
  MINIO_URL="http://127.0.0.1:$port"
  wait_port "$port" MinIO
  # MinIO opens its port before its API is up: retry making the bucket.
  for i in $(seq 1 50); do
    if "$ARUSTIO_BENCH_BIN" --target "name=minio,url=$MINIO_URL,access-key=$MINIO_USER,secret-key=$MINIO_SECRET,bucket=bench" \
      --create-bucket --workload list --duration 100ms --rounds 1 --no-progress >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "MinIO's API did not come up (see $WORK/minio.log)" >&2
  exit 1
}

# start_gateway NAME [serve args...]: sets GW_URL_<NAME>, GW_GRPC_<NAME>, GW_PID_<NAME>.
start_gateway() {
  local name=$1 port grpc pid
  shift
  port=$(free_port)
  grpc=$(free_port)
  mkdir -p "$WORK/gw-$name"
  ARUSTIO_ACCESS_KEY=$GW_KEY ARUSTIO_SECRET_KEY=$GW_SECRET ARUSTIO_LOG=warn ARUSTIO_METRICS_ADDR=127.0.0.1:0 "$ARUSTIO_BIN" serve \
    --data-dir "$WORK/gw-$name" --s3-addr "127.0.0.1:$port" --grpc-addr "127.0.0.1:$grpc" "$@" \
    >"$WORK/gw-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_port "$port" "gateway $name"
  printf -v "GW_URL_$name" '%s' "http://127.0.0.1:$port"
  printf -v "GW_GRPC_$name" '%s' "http://127.0.0.1:$grpc"
  printf -v "GW_PID_$name" '%s' "$pid"
}

# gw_cli NAME ARGS...: the admin CLI against gateway NAME.
gw_cli() {
  local name=$1 grpc
  shift
  grpc="GW_GRPC_$name"
  ARUSTIO_SERVER="${!grpc}" ARUSTIO_ACCESS_KEY=$GW_KEY ARUSTIO_SECRET_KEY=$GW_SECRET "$ARUSTIO_BIN" "$@"
}

# mount_minio NAME PATH [mount options...]: mounts MinIO's bucket `bench` at PATH, at
# STORE_URL if set (a delay proxy in front of MinIO), else at MinIO itself.
mount_minio() {
  local name=$1 path=$2
  shift 2
  mount_minio_at "$name" "$path" s3://bench "$@"
}

# mount_minio_at NAME PATH URI [mount options...]: as mount_minio, of URI (s3://bench/...).
mount_minio_at() {
  local name=$1 path=$2 uri=$3
  shift 3
  gw_cli "$name" fs mount -o "endpoint=${STORE_URL:-$MINIO_URL}" -o "access_key_id=$MINIO_USER" \
    -o "secret_access_key=$MINIO_SECRET" "$@" "$path" "$uri" >/dev/null
}

# target NAME URL BUCKET KEY SECRET [PID]: a --target for the bench.
target() {
  local t="name=$1,url=$2,bucket=$3,access-key=$4,secret-key=$5"
  [ -n "${6:-}" ] && t="$t,pid=$6"
  printf '%s' "$t"
}

# iperf3_ceiling: TCP over loopback with iperf3, 1 and 8 streams, the ceiling for large
# objects (a table of its own: its unit is the wire, not an S3 operation).
iperf3_ceiling() {
  if ! need_tool iperf3 iperf3; then
    echo "iperf3 ceiling: skipped, iperf3 is not installed"
    return 0
  fi
  local port pid streams secs=${IPERF_SECS:-5}
  port=$(free_port)
  iperf3 -s -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_port "$port" iperf3
  echo
  echo "iperf3 on loopback, ${secs}s per row"
  echo
  echo "| streams | MiB/s |"
  echo "|---|---|"
  for streams in 1 8; do
    # The port probe above can leave the server busy for a moment: a few tries.
    for _ in 1 2 3; do
      if iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -P "$streams" -J 2>/dev/null | python3 -c '
import json, sys
out = json.load(sys.stdin)
if "sum_received" not in out.get("end", {}):
    sys.exit(1)
bps = out["end"]["sum_received"]["bits_per_second"]
print(f"| {sys.argv[1]} | {bps / 8 / 2**20:.1f} |")' "$streams"; then
        break
      fi
      sleep 1
    done
  done
}

# start_delayproxy UPSTREAM_URL DELAY_MS [RATE_MBIT]: bench/delayproxy.py in front of
# UPSTREAM_URL, DELAY_MS each way (no netem here); sets PROXY_URL.
start_delayproxy() {
  local port up=${1##*:}
  port=$(free_port)
  python3 "$ROOT/bench/delayproxy.py" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
    --delay-ms "$2" --rate-mbit "${3:-0}" >"$WORK/delayproxy-$port.log" 2>&1 &
  PIDS+=("$!")
  wait_port "$port" "the delay proxy"
  PROXY_URL="http://127.0.0.1:$port"
}

# seed_rows SIZE OBJECTS ROW...: puts OBJECTS objects of SIZE for each ROW into MinIO
# directly, under lb/SIZE/ROW/: no gateway has seen them, and each row reads its own (the
# cache is keyed by store and key, so rows over one store must not share objects).
seed_rows() {
  local size=$1 objects=$2 row seed=()
  shift 2
  for row in "$@"; do
    seed+=(--target "$(target "$row" "$MINIO_URL" bench "$MINIO_USER" "$MINIO_SECRET"),prefix=lb/$size/$row/")
  done
  "$ARUSTIO_BENCH_BIN" "${seed[@]}" --workload put --size "$size" --concurrency 8 --rounds 1 \
    --ops "$objects" --objects "$objects" --duration 1h --keep --no-progress >/dev/null
}

# objects_for SIZE: OBJECTS for small objects, fewer for large ones (the store and the
# cache hold them easily).
objects_for() {
  case $1 in
    1MiB) echo $(( OBJECTS < 128 ? OBJECTS : 128 )) ;;
    64MiB) echo $(( OBJECTS < 16 ? OBJECTS : 16 )) ;;
    *) echo "$OBJECTS" ;;
  esac
}

# mount_rows: the mounts of the rows on gateway gw, each on MinIO (or STORE_URL).
mount_rows() {
  mount_minio gw /bench-off -o cache=false
  mount_minio gw /bench-cold
  mount_minio gw /bench-warm
  mount_minio gw /bench-ttl -o consistency=ttl:600
}

# row_target ROW SIZE: the row's target (direct is MinIO, or DIRECT_URL), reading the
# objects seed_rows put for it.
row_target() {
  local g="$GW_KEY $GW_SECRET"
  case $1 in
    direct) target direct "${DIRECT_URL:-$MINIO_URL}" bench "$MINIO_USER" "$MINIO_SECRET" "$MINIO_PID" ;;
    cache-off) target cache-off "$GW_URL_gw" bench-off $g "$GW_PID_gw" ;;
    cold) target cold "$GW_URL_gw" bench-cold $g "$GW_PID_gw" ;;
    warm) target warm "$GW_URL_gw" bench-warm $g "$GW_PID_gw" ;;
    warm-ttl) target warm-ttl "$GW_URL_gw" bench-ttl $g "$GW_PID_gw" ;;
  esac
  printf ',prefix=lb/%s/%s/' "$2" "$1"
}

# free_hook ROW PATH [GATEWAY]: a --before-round that frees, for target ROW, the cache of
# every file under PATH on GATEWAY (gw by default).
free_hook() {
  local grpc="GW_GRPC_${3:-gw}"
  printf '%s=ARUSTIO_SERVER=%s ARUSTIO_ACCESS_KEY=%s ARUSTIO_SECRET_KEY=%s %s cache free %s -R >/dev/null' \
    "$1" "${!grpc}" "$GW_KEY" "$GW_SECRET" "$ARUSTIO_BIN" "$2"
}

# get_tables SIZE ROW...: seeds the rows' objects, then one GET table per CONC, each
# object read once a round (the cold row's cache freed before each: its own prefix only,
# since every row's mount is the whole bucket, and freeing the mount would free theirs).
get_tables() {
  local size=$1 c targets=() row
  shift
  seed_rows "$size" "$(objects_for "$size")" "$@"
  for row in "$@"; do targets+=(--target "$(row_target "$row" "$size")"); done
  for c in "${CONC[@]}"; do
    "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload get --list-existing --each-once --warmup \
      --concurrency "$c" --duration "$DURATION" --rounds "$ROUNDS" --before-round "$(free_hook cold "/bench-cold/lb/$size/cold")" --no-progress
  done
}
