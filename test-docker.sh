#!/usr/bin/env bash
# The Docker quick start, automated: starts MinIO and a 3-node Arustio cluster
# (docker-compose.yml), waits until the buckets are mounted, runs the `docker` example
# on this host against http://127.0.0.1:39999, shows the result, then asks whether to
# keep the services running.
#
#   ./test-docker.sh            ask at the end (on a terminal; otherwise keep them)
#   ./test-docker.sh --down     stop the services at the end (volumes kept)
#   ./test-docker.sh --keep     keep them running
#
# Environment: ARUSTIO_ACCESS_KEY / ARUSTIO_SECRET_KEY (the compose defaults otherwise),
# COMPOSE (the compose command), INIT_WAIT (seconds, default 600: the first run builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

at_end=ask
for arg in "$@"; do
  case $arg in
    --down) at_end=down ;;
    --keep) at_end=keep ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

no_engine() {
  cat >&2 <<EOF
test-docker.sh: $1
This needs a running Docker Engine with the compose plugin (docker compose v2) or
docker-compose. Without one, the packaging can still be checked offline:
  make check-packaging      # hadolint, the compose loader, shellcheck, make -n
EOF
  exit 2
}

# The compose command: `docker compose` (v2), else `docker-compose`.
if [ -n "${COMPOSE:-}" ]; then
  read -r -a compose <<<"$COMPOSE"
elif ! command -v docker >/dev/null 2>&1; then
  no_engine "the docker command is not installed."
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  no_engine "neither 'docker compose' nor 'docker-compose' is installed."
fi
if ! docker info >/dev/null 2>&1; then
  no_engine "no Docker Engine answers (docker info failed): is the daemon running, may this user use it?"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is needed to run the example: https://rustup.rs" >&2; exit 2; }

export ARUSTIO_ACCESS_KEY="${ARUSTIO_ACCESS_KEY:-arustio-admin}"
export ARUSTIO_SECRET_KEY="${ARUSTIO_SECRET_KEY:-arustio-admin-secret}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arustio-target}"

step "starting MinIO and the Arustio cluster (${compose[*]} up -d --build)"
"${compose[@]}" up -d --build

step "waiting for the buckets and mounts"
COMPOSE="${compose[*]}" bash docker/wait-init.sh

step "the cluster and its mounts"
"${compose[@]}" exec -T arustio-1 arustio cluster status
"${compose[@]}" exec -T arustio-1 arustio fs list

step "running the docker example against http://127.0.0.1:39999"
status=0
ARUSTIO_S3_ENDPOINT=http://127.0.0.1:39999 \
  AWS_ACCESS_KEY_ID="$ARUSTIO_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$ARUSTIO_SECRET_KEY" AWS_REGION=us-east-1 \
  cargo run -q --example docker || status=$?

step "results"
"${compose[@]}" ps
if [ "$status" -eq 0 ]; then
  echo "the docker example passed"
else
  echo "the docker example FAILED (exit $status); logs: ${compose[*]} logs arustio-1" >&2
fi
cat <<EOF

  S3 (Arustio):    http://127.0.0.1:39999   access key $ARUSTIO_ACCESS_KEY
  MinIO console:   http://127.0.0.1:9001    minioadmin / minioadmin
  admin CLI:       ${compose[*]} exec arustio-1 arustio fs ls /mnt
EOF

if [ "$at_end" = ask ]; then
  if [ -t 0 ] && [ -t 1 ]; then
    read -r -p "Keep the services running? [Y/n] " answer || answer=y
    case $answer in [nN]*) at_end=down ;; *) at_end=keep ;; esac
  else
    at_end=keep
  fi
fi
if [ "$at_end" = down ]; then
  step "stopping the services (${compose[*]} down; add -v to delete the data)"
  "${compose[@]}" down
else
  echo "services left running; stop them with: make docker-down (or make docker-clean to delete the data)"
fi
exit "$status"
