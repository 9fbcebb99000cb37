#!/usr/bin/env bash
# Builds arustio and starts a single-node gateway on the embedded default:
# S3 on 127.0.0.1:39999, admin gRPC on 127.0.0.1:50051, state in ./arustio-data.
# Extra arguments go to `arustio serve` (e.g. --s3-addr 0.0.0.0:39999 with --tls-cert and
# --tls-key, or --insecure: plaintext is served on loopback only unless asked for).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_rust
need_apt_packages
cd "$ROOT"
# The same build as the tests, so the two commands share one cache.
use_lint_build
cargo build --workspace --all-targets
exec "$CARGO_TARGET_DIR/debug/arustio" serve "$@"
