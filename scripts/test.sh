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
need_cargo_checks
need_clients_venv
need_spark_jars
need_trino
# The benchmark's peer gateways (versitygw, rclone, SeaweedFS): built once, into $HOME.
bash "$ROOT/bench/scenarios/peers.sh" --install
cd "$ROOT"
export PATH="$VENV/bin:$PATH"

echo "== fmt"
cargo fmt --all -- --check
echo "== unused dependencies (cargo machete)"
cargo machete
echo "== licences, bans and sources (cargo deny; advisories need github.com)"
cargo deny --log-level error check licenses bans sources
echo "== build + clippy -D warnings"
use_lint_build
cargo build --workspace --all-targets
export ARUSTIO_BIN="$CARGO_TARGET_DIR/debug/arustio"
echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
# The tests marked #[ignore] need network namespaces: run where the machine allows.
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1; then
  echo "== rust tests that need network namespaces (root)"
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast --run-ignored only
  else
    cargo test --workspace --no-fail-fast -- --ignored
  fi
else
  echo "== skipped: the rust tests that need network namespaces (root and iproute2)"
fi
echo "== examples"
cargo run -q --example basic
cargo run -q --example mount
echo "== python client tests (boto3, aws CLI, the backend suite)"
python -m pytest -q conformance-tests/python --ignore=conformance-tests/python/clients
echo "== packaging: Dockerfile, docker-compose.yml, Makefile, init scripts (docker/check.sh)"
bash "$ROOT/docker/check.sh"
echo "== packaging: the helm chart, rendered and validated (helm/check.sh)"
bash "$ROOT/helm/check.sh"
echo "== client matrix (Spark, Trino, pyarrow, polars, s3fs, rclone, s3cmd)"
"$CLIENTS_VENV/bin/python" -m pytest -q -rs conformance-tests/python/clients
