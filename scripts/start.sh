#!/usr/bin/env bash
# Builds arustio and starts a single-node gateway on the embedded default:
# S3 on 127.0.0.1:39999, admin gRPC on 127.0.0.1:50051, state in ./arustio-data.
# Extra arguments go to `arustio serve` (e.g. --s3-addr 0.0.0.0:39999 with --tls-cert and
# --tls-key, or --insecure: plaintext is served on loopback only unless asked for).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_rust
need_apt_packages
cd "$ROOT"
# The release build: what a user runs is the fast one (bench/README.md has debug against
# release). The tests keep the debug build, which builds faster; both share the installs
# above and the cache directory.
cargo build --release -p arustio-gateway --bin arustio
exec "$CARGO_TARGET_DIR/release/arustio" serve "$@"
