# Shared setup for the project's scripts: system packages, the cargo target dir, the venv.
# Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/arustio-target}"
VENV="${ARUSTIO_VENV:-$HOME/.cache/arustio-venv}"

# Debian packages the build needs: RocksDB's bindings need libclang; the C++ needs a compiler.
need_apt_packages() {
  local missing=()
  dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  if [ "${#missing[@]}" -eq 0 ]; then return 0; fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing ${missing[*]} ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing system packages; run this, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is required: install it from https://rustup.rs, then try again." >&2
    exit 1
  fi
}

# The Python venv for the client tests, with pinned clients.
need_venv() {
  local stamp="$VENV/.arustio-requirements"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || {
      if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV";
      else echo "run: sudo apt-get install -y python3-venv" >&2; exit 1; fi
    }
  fi
  if ! cmp -s "$ROOT/conformance-tests/python/requirements.txt" "$stamp"; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/conformance-tests/python/requirements.txt"
    cp "$ROOT/conformance-tests/python/requirements.txt" "$stamp"
  fi
}

# Azurite (Azure Blob emulator) from npm, pinned: 3.36+ needs Node >= 21.
AZURITE_DIR="${ARUSTIO_NPM:-$HOME/.cache/arustio-npm}"
need_azurite() {
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null;
    else echo "npm is needed for the Azure tests; run: sudo apt-get install -y nodejs npm" >&2; exit 1; fi
  fi
  if [ ! -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ]; then
    mkdir -p "$AZURITE_DIR"
    (cd "$AZURITE_DIR" && npm install --no-audit --no-fund --silent azurite@3.35.0)
  fi
  export AZURITE_BIN="$AZURITE_DIR/node_modules/.bin/azurite-blob"
}

# fake-gcs-server from the Go module proxy, pinned; the Go build cache stays in $HOME.
FAKE_GCS_VERSION=v1.56.1
need_fake_gcs() {
  local bin="$HOME/go/bin/fake-gcs-server" stamp="$HOME/go/bin/.fake-gcs-server-$FAKE_GCS_VERSION"
  if [ ! -x "$bin" ] || [ ! -f "$stamp" ]; then
    command -v go >/dev/null 2>&1 || { echo "Go is needed for the GCS tests (fake-gcs-server); install Go, then try again" >&2; exit 1; }
    (cd /tmp && GOBIN="$HOME/go/bin" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION")
    touch "$stamp"
  fi
  export FAKE_GCS_BIN="$bin"
}

# cargo-nextest, once, into ~/.cargo/bin (with its own target dir: not our lint wrapper).
need_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest (once) ..." >&2
    env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR="$HOME/.cache/cargo-install-target" \
      cargo install cargo-nextest --locked --quiet || echo "cargo-nextest did not install; using cargo test" >&2
  fi
}

# MinIO from the Go module proxy, pinned (its module has no tagged releases there).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
need_minio() {
  local bin="$HOME/go/bin/minio" stamp="$HOME/go/bin/.minio-$MINIO_VERSION"
  if [ ! -x "$bin" ] || [ ! -f "$stamp" ]; then
    command -v go >/dev/null 2>&1 || { echo "Go is needed for the S3 tests (MinIO); install Go, then try again" >&2; exit 1; }
    echo "building MinIO (once) ..." >&2
    (cd /tmp && GOBIN="$HOME/go/bin" go install "github.com/minio/minio@$MINIO_VERSION")
    touch "$stamp"
  fi
  export MINIO_BIN="$bin"
}
