#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the Rust SDK conformance tests against
# a spawned gateway, and the boto3 / aws CLI tests. Installs what is missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_rust
need_apt_packages
need_venv
need_azurite
need_fake_gcs
need_minio
need_nextest
need_clients_venv
need_spark_jars
need_trino
cd "$ROOT"
export PATH="$VENV/bin:$PATH"

echo "== fmt"
cargo fmt --all -- --check
# Build and lint in one pass: clippy-driver compiles the workspace's own crates, and the
# dependencies are built once, as a plain `cargo build` builds them. (`cargo clippy` would
# build its own variant of every dependency, RocksDB's C++ included: 20 CPU-minutes more.)
echo "== build + clippy -D warnings"
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ -z "$RUSTC_WORKSPACE_WRAPPER" ]; then
  echo "clippy is missing: run 'rustup component add clippy', then try again" >&2
  exit 1
fi
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --workspace --all-targets
export ARUSTIO_BIN="$CARGO_TARGET_DIR/debug/arustio"
echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
echo "== examples"
cargo run -q --example basic
cargo run -q --example mount
echo "== python client tests (boto3, aws CLI, the backend suite)"
python -m pytest -q conformance-tests/python --ignore=conformance-tests/python/clients
echo "== client matrix (Spark, Trino, pyarrow, polars, s3fs, rclone, s3cmd)"
"$CLIENTS_VENV/bin/python" -m pytest -q -rs conformance-tests/python/clients
