#!/usr/bin/env bash
# Waits for the one-shot arustio-init service of docker-compose.yml (buckets made by
# minio-init, cluster formed, buckets mounted) to exit, and fails with its logs if it did
# not exit 0. Used by `make docker-up` and ./test-docker.sh.
#
#   COMPOSE    the compose command     docker compose
#   INIT_WAIT  seconds to wait         600 (the first run builds the image)
set -euo pipefail

read -r -a compose <<<"${COMPOSE:-docker compose}"
service=${1:-arustio-init}
wait_s=${INIT_WAIT:-600}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "waiting for $service to finish (up to ${wait_s}s) ..."
start=$SECONDS
state="not created"
while ((SECONDS - start < wait_s)); do
  id=$("${compose[@]}" ps -a -q "$service" 2>/dev/null | head -n 1 || true)
  if [ -n "$id" ]; then
    state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id" 2>/dev/null || echo unknown)
    case $state in
      "exited 0")
        "${compose[@]}" logs --no-color "$service" | tail -n 20
        echo "$service: done"
        exit 0
        ;;
      exited* | dead*)
        "${compose[@]}" logs --no-color minio-init "$service" | tail -n 60 >&2
        echo "$service failed ($state); all logs: ${compose[*]} logs" >&2
        exit 1
        ;;
    esac
  fi
  sleep 2
done
echo "$service did not finish within ${wait_s}s (state: $state); see: ${compose[*]} logs" >&2
exit 1
