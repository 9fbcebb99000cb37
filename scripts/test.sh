#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the Rust SDK conformance tests against
# a spawned gateway, and the boto3 / aws CLI tests. Installs what is missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_rust
need_apt_packages
need_venv
need_azurite
need_fake_gcs
cd "$ROOT"
export PATH="$VENV/bin:$PATH"

echo "== fmt"
cargo fmt --all -- --check
echo "== build"
cargo build --workspace --all-targets
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
export ARUSTIO_BIN="$CARGO_TARGET_DIR/debug/arustio"
echo "== rust tests"
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest (once; it lands in ~/.cargo/bin) ..."
  cargo install cargo-nextest --locked --quiet || echo "cargo-nextest did not install; using cargo test"
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
echo "== examples"
cargo run -q --example basic
cargo run -q --example mount
echo "== python client tests (boto3, aws CLI)"
python -m pytest -q conformance-tests/python
