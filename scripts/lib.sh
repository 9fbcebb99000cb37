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
  command -v curl >/dev/null 2>&1 || missing+=(curl)
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

# need_tool COMMAND DEBIAN_PACKAGE: installs the package when root; else prints the command
# and returns 1.
need_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null) || true
    command -v "$1" >/dev/null 2>&1 && return 0
  fi
  echo "# $1 is missing; run: sudo apt-get install -y $2" >&2
  return 1
}

# Build and lint in one pass: clippy-driver compiles the workspace's own crates, and the
# dependencies are built once, as a plain `cargo build` builds them. (`cargo clippy` would
# build its own variant of every dependency, RocksDB's C++ included: 20 CPU-minutes more.)
use_lint_build() {
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
  if [ -z "$RUSTC_WORKSPACE_WRAPPER" ]; then
    echo "clippy is missing: run 'rustup component add clippy', then try again" >&2
    exit 1
  fi
  export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
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

# cargo-machete (unused dependencies) and cargo-deny (licences, bans, sources), pinned,
# once, into ~/.cargo/bin.
need_cargo_checks() {
  local tool version
  for tool in cargo-machete@0.9.2 cargo-deny@0.20.2; do
    version="${tool#*@}"
    if ! "${tool%@*}" --version 2>/dev/null | grep -q "$version"; then
      echo "installing $tool (once) ..." >&2
      env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR="$HOME/.cache/cargo-install-target" \
        cargo install "${tool%@*}" --version "$version" --locked --quiet
    fi
  done
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

# The client-matrix venv (pyspark, pyarrow, polars, s3fs, rclone, s3cmd): its own, because
# s3fs pins an older botocore than the boto3 that the main venv tests.
CLIENTS_VENV="${ARUSTIO_CLIENTS_VENV:-$HOME/.cache/arustio-clients-venv}"
need_clients_venv() {
  local req="$ROOT/conformance-tests/python/clients/requirements.txt" stamp="$CLIENTS_VENV/.arustio-requirements"
  [ -x "$CLIENTS_VENV/bin/python" ] || python3 -m venv "$CLIENTS_VENV"
  if ! cmp -s "$req" "$stamp"; then
    echo "installing the client matrix into $CLIENTS_VENV (pyspark is about 450 MB) ..." >&2
    "$CLIENTS_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
  fi
}

# A JAR (or tarball) from Maven Central into ~/.m2, once; prints its path.
maven_artifact() {  # group artifact version [packaging [classifier]]
  local g=$1 a=$2 v=$3 p=${4:-jar} c=${5:-}
  local file="$HOME/.m2/repository/${g//.//}/$a/$v/$a-$v${c:+-$c}.$p"
  if [ ! -f "$file" ]; then
    command -v mvn >/dev/null 2>&1 || {
      if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq maven >/dev/null;
      else echo "Maven is needed for the Spark and Trino tests; run: sudo apt-get install -y maven" >&2; exit 1; fi
    }
    # Maven takes its home from the passwd entry, not $HOME: name the repository.
    mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" dependency:get \
      -Dtransitive=false -Dartifact="$g:$a:$v:$p${c:+:$c}" >&2
  fi
  echo "$file"
}

# s3a for pyspark 4.3.0, which bundles Hadoop 3.5.0: hadoop-aws at that version and what its
# POM names (the AWS SDK v2 bundle, the analytics accelerator).
need_spark_jars() {
  command -v java >/dev/null 2>&1 || {
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null;
    else echo "Java 17 is needed for the Spark tests; run: sudo apt-get install -y openjdk-17-jre-headless" >&2; exit 1; fi
  }
  SPARK_S3A_JARS="$(maven_artifact org.apache.hadoop hadoop-aws 3.5.0),$(maven_artifact software.amazon.awssdk bundle 2.35.4),$(maven_artifact software.amazon.s3.analyticsaccelerator analyticsaccelerator-s3 1.3.1)"
  export SPARK_S3A_JARS
}

# Trino 476 (the newest server tarball on Maven Central) needs Java 24 or later: a JDK beside
# the system's Java 17 (Temurin on these machines). Without one, the Trino test says so.
TRINO_VERSION=476
need_trino() {
  local jdk java_bin major
  TRINO_JAVA_HOME=""
  for jdk in /usr/lib/jvm/*; do
    java_bin="$jdk/bin/java"
    [ -x "$java_bin" ] || continue
    major="$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    if [ -n "$major" ] && [ "$major" -ge 24 ]; then TRINO_JAVA_HOME="$jdk"; break; fi
  done
  if [ -z "$TRINO_JAVA_HOME" ]; then
    echo "no Java 24+ under /usr/lib/jvm: the Trino test will be skipped" >&2
    export TRINO_SKIP="Trino $TRINO_VERSION needs Java 24+, and none is under /usr/lib/jvm"
    return 0
  fi
  local dir="$HOME/.cache/arustio-trino" tarball
  tarball="$(maven_artifact io.trino trino-server "$TRINO_VERSION" tar.gz)"
  if [ ! -f "$dir/trino-server-$TRINO_VERSION/.arustio-ready" ]; then
    rm -rf "$dir" && mkdir -p "$dir/unused-plugins"
    # The whole tarball: its plugin directories share files as hard links.
    tar -xzf "$tarball" -C "$dir"
    for p in "$dir/trino-server-$TRINO_VERSION/plugin/"*; do
      case "$(basename "$p")" in hive|iceberg|tpch) ;; *) mv "$p" "$dir/unused-plugins/" ;; esac
    done
    rm -rf "$dir/unused-plugins"
    touch "$dir/trino-server-$TRINO_VERSION/.arustio-ready"
  fi
  export TRINO_JAVA_HOME TRINO_HOME="$dir/trino-server-$TRINO_VERSION"
}
