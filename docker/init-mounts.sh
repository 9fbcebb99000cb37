#!/bin/sh
# Waits until the Arustio cluster has a leader and ARUSTIO_NODES voters, then mounts the
# MinIO buckets. A path that is already a mount point is left as it is, so the script can
# run at every `docker compose up`. Uses only the arustio CLI and POSIX tools (no jq).
#
# Environment (defaults are the compose ones):
#   ARUSTIO_SERVER         admin gRPC of any node      http://arustio-1:50051
#   ARUSTIO_ACCESS_KEY, ARUSTIO_SECRET_KEY   the root pair the CLI signs with (required)
#   ARUSTIO_NODES          voters to wait for          3
#   INIT_TIMEOUT           seconds to wait for them    120
#   MOUNTS                 PATH=BUCKET pairs           /mnt/s3-test=test-bucket
#                                                      /mnt/s3-data=data-bucket
#                                                      /mnt/s3-temp=temp-bucket
#   MINIO_ENDPOINT         the store, as the nodes reach it   http://minio:9000
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   the store's credentials (minioadmin);
#                          `arustio fs mount` sends them from the environment, so they
#                          never appear on a command line
#   AWS_REGION             the store's region          us-east-1
#   INIT_POLL              seconds between tries       2
#   ARUSTIO_CLI            the arustio command         arustio
set -eu

ARUSTIO_SERVER=${ARUSTIO_SERVER:-http://arustio-1:50051}
ARUSTIO_NODES=${ARUSTIO_NODES:-3}
INIT_TIMEOUT=${INIT_TIMEOUT:-120}
INIT_POLL=${INIT_POLL:-2}
MOUNTS=${MOUNTS:-/mnt/s3-test=test-bucket /mnt/s3-data=data-bucket /mnt/s3-temp=temp-bucket}
MINIO_ENDPOINT=${MINIO_ENDPOINT:-http://minio:9000}
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-minioadmin}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-minioadmin}
AWS_REGION=${AWS_REGION:-us-east-1}
ARUSTIO_CLI=${ARUSTIO_CLI:-arustio}
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

log() { printf 'init-mounts: %s\n' "$*"; }

# A CLI call bounded in time (coreutils `timeout` when there is one).
cli() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 20 "$ARUSTIO_CLI" -s "$ARUSTIO_SERVER" "$@"
  else
    "$ARUSTIO_CLI" -s "$ARUSTIO_SERVER" "$@"
  fi
}

for n in "$ARUSTIO_NODES" "$INIT_TIMEOUT" "$INIT_POLL"; do
  case $n in
    '' | *[!0-9]*) log "ARUSTIO_NODES, INIT_TIMEOUT and INIT_POLL must be numbers, not '$n'"; exit 2 ;;
  esac
done
command -v "$ARUSTIO_CLI" >/dev/null 2>&1 || { log "the arustio CLI ('$ARUSTIO_CLI') is not found"; exit 2; }
if [ -z "${ARUSTIO_ACCESS_KEY:-}" ] || [ -z "${ARUSTIO_SECRET_KEY:-}" ]; then
  log "set ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY (the root pair the nodes were started with)"
  exit 2
fi

# `cluster status --json` is one line of JSON: {"node":1,"leader":1,...,"members":[{"id":1,
# "addr":"arustio-1:50051","role":"leader","lag":0},...]}. Spaces and newlines are dropped
# (none occur in the values we look at), then every object goes on its own line: the
# top-level fields on the first, one member per line after it.
flatten() { tr -d ' \t\r\n' | tr '{' '\n' | tr '}' '\n'; }

# The leader's id, or nothing while the cluster has none ("leader":null or no field).
leader_of() { flatten | sed -n 's/^.*"leader":"\{0,1\}\([0-9][0-9]*\).*$/\1/p' | sed -n 1p; }

# Members that are full voters (a joining node is a learner until it has caught up).
voters_in() { flatten | grep -cE '"role":"(leader|voter)"' || true; }

log "waiting for a leader and $ARUSTIO_NODES voters at $ARUSTIO_SERVER (up to ${INIT_TIMEOUT}s)"
start=$(date +%s)
last=""
while :; do
  if status=$(cli cluster status --json 2>&1); then
    leader=$(printf '%s\n' "$status" | leader_of)
    voters=$(printf '%s\n' "$status" | voters_in)
    now="leader ${leader:-none}, $voters of $ARUSTIO_NODES voters"
    if [ -n "$leader" ] && [ "$voters" -ge "$ARUSTIO_NODES" ]; then
      log "cluster ready: $now"
      break
    fi
  else
    now="no answer: $(printf '%s' "$status" | tail -n 1)"
  fi
  if [ "$now" != "$last" ]; then
    log "cluster: $now"
    last=$now
  fi
  if [ $(($(date +%s) - start)) -ge "$INIT_TIMEOUT" ]; then
    log "the cluster was not ready within ${INIT_TIMEOUT}s ($now)"
    exit 1
  fi
  sleep "$INIT_POLL"
done

# `fs list --json` is a JSON array of objects with a "path" each. A path is looked up as
# the exact string "path":"/mnt/x" (the closing quote keeps /mnt/x from matching /mnt/xy).
mounts=$(cli fs list --json)
mounted() { printf '%s\n' "$mounts" | tr -d ' \t\r\n' | grep -qF "\"path\":\"$1\""; }

for pair in $MOUNTS; do
  path=${pair%%=*}
  bucket=${pair#*=}
  if [ -z "$path" ] || [ -z "$bucket" ] || [ "$path" = "$pair" ]; then
    log "MOUNTS entries are PATH=BUCKET, not '$pair'"
    exit 2
  fi
  uri="s3://$bucket"
  if mounted "$path"; then
    log "mount $path: exists, skipped"
    continue
  fi
  if out=$(cli fs mount -o "endpoint=$MINIO_ENDPOINT" -o "region=$AWS_REGION" "$path" "$uri" 2>&1); then
    log "mount $path -> $uri: mounted"
  else
    # Another run may have mounted it meanwhile: then it is there now.
    mounts=$(cli fs list --json)
    if mounted "$path"; then
      log "mount $path: exists, skipped"
    else
      log "mount $path -> $uri: failed:"
      printf '%s\n' "$out" | sed 's/^/  /'
      exit 1
    fi
  fi
done
log "done: $MOUNTS"
