#!/usr/bin/env bash
# builds: the test build (debug: dependencies at opt-level 1) against the release build of
# the gateway, side by side on one MinIO, warm mounts. Rows: MinIO direct, debug, release;
# GETs of 4 KiB and 64 MiB, and PUTs of 4 KiB, at concurrency 8.
#   bench/scenarios/builds.sh            # builds the release binary if needed (once, long)
#   bench/scenarios/builds.sh --smoke    # a few seconds: that it runs (the test build in
#                                        # both rows, unless ARUSTIO_RELEASE_BIN is given)
# ARUSTIO_RELEASE_BIN chooses the release binary; SIZES, CONC, DURATION, ROUNDS, OBJECTS as
# in loopback.sh. NAMES renames the two gateway rows: two builds of two commits compare
# the same way (bench/README.md, "before and after"):
#   ARUSTIO_BIN=old/arustio ARUSTIO_RELEASE_BIN=new/arustio NAMES="before after" bench/scenarios/builds.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
read -r -a SIZES <<<"${SIZES:-4KiB 64MiB}"
read -r -a CONC <<<"${CONC:-8}"
DURATION=${DURATION:-15s} ROUNDS=${ROUNDS:-3} OBJECTS=${OBJECTS:-1000}
read -r A B <<<"${NAMES:-debug release}"
binaries
if [ "${1:-}" = --smoke ]; then
  SIZES=(4KiB) CONC=(2) DURATION=600ms ROUNDS=2 OBJECTS=8
  # That the script runs: without a release binary, the test build in both rows.
  ARUSTIO_RELEASE_BIN=${ARUSTIO_RELEASE_BIN:-$ARUSTIO_BIN}
fi
if [ -z "${ARUSTIO_RELEASE_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q --release -p arustio-gateway --bin arustio)
  ARUSTIO_RELEASE_BIN="$CARGO_TARGET_DIR/release/arustio"
fi
start_minio
start_gateway "$A"
mount_minio "$A" /bench-warm
ARUSTIO_BIN=$ARUSTIO_RELEASE_BIN start_gateway "$B"
ARUSTIO_BIN=$ARUSTIO_RELEASE_BIN mount_minio "$B" /bench-warm
url_a=GW_URL_$A pid_a=GW_PID_$A url_b=GW_URL_$B pid_b=GW_PID_$B
M="$MINIO_USER $MINIO_SECRET"
G="$GW_KEY $GW_SECRET"
echo "# builds: $(date -u +%F), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $A $ARUSTIO_BIN, $B $ARUSTIO_RELEASE_BIN"
# build_targets SIZE [SUFFIX]: the three rows, each under lb/SIZE/ROW/SUFFIX.
build_targets() {
  targets=(
    --target "$(target direct "$MINIO_URL" bench $M "$MINIO_PID"),prefix=lb/$1/direct/${2:-}"
    --target "$(target "$A" "${!url_a}" bench-warm $G "${!pid_a}"),prefix=lb/$1/$A/${2:-}"
    --target "$(target "$B" "${!url_b}" bench-warm $G "${!pid_b}"),prefix=lb/$1/$B/${2:-}"
  )
}
for size in "${SIZES[@]}"; do
  objects=$(objects_for "$size")
  seed_rows "$size" "$objects" direct "$A" "$B"
  build_targets "$size"
  for c in "${CONC[@]}"; do
    "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload get --list-existing --each-once --warmup \
      --concurrency "$c" --duration "$DURATION" --rounds "$ROUNDS" --no-progress
  done
  [ "$size" = 64MiB ] && continue
  build_targets "$size" put/
  "$ARUSTIO_BENCH_BIN" "${targets[@]}" --workload put --size "$size" --concurrency "${CONC[-1]}" \
    --duration "$DURATION" --rounds "$ROUNDS" --objects "$objects" --no-progress
done
