#!/bin/sh
# Creates the demo buckets on MinIO (or any S3 store) with the aws CLI; a bucket that
# exists already is fine, so the script can run at every `docker compose up`.
#
# Environment (defaults are the compose ones):
#   MINIO_ENDPOINT         S3 endpoint                 http://minio:9000
#   AWS_ACCESS_KEY_ID      access key                  minioadmin
#   AWS_SECRET_ACCESS_KEY  secret key                  minioadmin
#   AWS_DEFAULT_REGION     region                      us-east-1
#   BUCKETS                space-separated names       test-bucket data-bucket temp-bucket
#   INIT_TIMEOUT           seconds to wait for the endpoint   120
#   INIT_POLL              seconds between tries       2
#   AWS_CLI                the aws command             aws
set -eu

MINIO_ENDPOINT=${MINIO_ENDPOINT:-http://minio:9000}
BUCKETS=${BUCKETS:-test-bucket data-bucket temp-bucket}
INIT_TIMEOUT=${INIT_TIMEOUT:-120}
INIT_POLL=${INIT_POLL:-2}
AWS_CLI=${AWS_CLI:-aws}
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-minioadmin}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-minioadmin}
AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
# No pager, no instance-metadata lookups: the credentials and region are given.
AWS_PAGER=
AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_PAGER AWS_EC2_METADATA_DISABLED

log() { printf 'init-buckets: %s\n' "$*"; }
# A command's output on one line.
oneline() { printf '%s' "$1" | tr '\r\n' '  ' | sed 's/^ *//; s/ *$//; s/   */ /g'; }

# Each call is bounded: 5 s to connect, 30 s per read.
s3api() {
  "$AWS_CLI" --endpoint-url "$MINIO_ENDPOINT" --cli-connect-timeout 5 --cli-read-timeout 30 s3api "$@"
}

for n in "$INIT_TIMEOUT" "$INIT_POLL"; do
  case $n in
    '' | *[!0-9]*) log "INIT_TIMEOUT and INIT_POLL must be numbers of seconds, not '$n'"; exit 2 ;;
  esac
done
command -v "$AWS_CLI" >/dev/null 2>&1 || { log "the aws CLI ('$AWS_CLI') is not installed"; exit 2; }

# Bounded wait: a try every INIT_POLL seconds until INIT_TIMEOUT seconds have passed.
log "waiting for $MINIO_ENDPOINT (up to ${INIT_TIMEOUT}s)"
start=$(date +%s)
until err=$(s3api list-buckets 2>&1 >/dev/null); do
  if [ $(($(date +%s) - start)) -ge "$INIT_TIMEOUT" ]; then
    log "$MINIO_ENDPOINT did not answer within ${INIT_TIMEOUT}s: $(oneline "$err")"
    exit 1
  fi
  sleep "$INIT_POLL"
done
log "$MINIO_ENDPOINT is up"

for bucket in $BUCKETS; do
  if s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    log "bucket $bucket: exists"
  elif err=$(s3api create-bucket --bucket "$bucket" 2>&1 >/dev/null); then
    log "bucket $bucket: created"
  elif s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    # Made by someone else in the meantime (BucketAlreadyOwnedByYou).
    log "bucket $bucket: exists"
  else
    log "bucket $bucket: could not be created: $(oneline "$err")"
    exit 1
  fi
done
log "done: $BUCKETS"
