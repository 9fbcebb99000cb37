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
  ARUSTIO_ACCESS_KEY=$GW_KEY ARUSTIO_SECRET_KEY=$GW_SECRET ARUSTIO_LOG=warn "$ARUSTIO_BIN" serve \
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

# mount_minio NAME PATH [mount options...]: mounts MinIO's bucket `bench` at PATH.
mount_minio() {
  local name=$1 path=$2
  shift 2
  gw_cli "$name" fs mount -o "endpoint=$MINIO_URL" -o "access_key_id=$MINIO_USER" \
    -o "secret_access_key=$MINIO_SECRET" "$@" "$path" s3://bench >/dev/null
}

# target NAME URL BUCKET KEY SECRET [PID]: a --target for the bench.
target() {
  local t="name=$1,url=$2,bucket=$3,access-key=$4,secret-key=$5"
  [ -n "${6:-}" ] && t="$t,pid=$6"
  printf '%s' "$t"
}
