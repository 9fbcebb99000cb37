#!/usr/bin/env bash
# Validates the arustio Helm chart offline: helm lint --strict, helm template with the
# default values and each ci/*.yaml, every manifest against the Kubernetes schemas
# (kubernetes-validate --strict), facts about the output, values that must be refused,
# and mutations of the chart that the fact checks must catch.
#
# Tools (installed on first use, then cached; the second run takes seconds):
#   helm        go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION into $HOME/go/bin
#   kubernetes-validate==$KV_VERSION (PyPI) in the venv $HOME/.cache/arustio-k8s-venv
# Needs go and python3 (3.11+, for tomllib). Nothing here talks to a cluster.
set -euo pipefail

HELM_VERSION=v3.22.0
KV_VERSION=1.37.0

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHART="$HERE/arustio"
GOBIN_DIR="$HOME/go/bin"
HELM="$GOBIN_DIR/helm"
VENV="$HOME/.cache/arustio-k8s-venv"
PY="$VENV/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

failures=0
passed=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { passed=$((passed + 1)); }

# ------------------------------------------------------------------ tools
if [[ -x "$HELM" && -f "$GOBIN_DIR/.helm-$HELM_VERSION" ]]; then
  :
else
  command -v go >/dev/null || { echo "check.sh: go is needed to install helm" >&2; exit 1; }
  echo "== installing helm $HELM_VERSION (go install; a few minutes the first time)"
  mkdir -p "$GOBIN_DIR"
  # From /tmp, so that no go.mod around here takes part.
  (cd /tmp && GOBIN="$GOBIN_DIR" GOFLAGS= GO111MODULE=on go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  rm -f "$GOBIN_DIR"/.helm-v*
  touch "$GOBIN_DIR/.helm-$HELM_VERSION"
fi

if [[ -x "$PY" && -f "$VENV/.kubernetes-validate-$KV_VERSION" ]]; then
  :
else
  echo "== installing kubernetes-validate $KV_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION" PyYAML
  touch "$VENV/.kubernetes-validate-$KV_VERSION"
fi
"$PY" -c 'import tomllib' 2>/dev/null || { echo "check.sh: python 3.11+ is needed (tomllib)" >&2; exit 1; }

# The newest Kubernetes version kubernetes-validate ships (strict) schemas for; the
# schemas are in the package, so validation runs offline.
K8S_VERSION="$("$PY" - <<'EOF'
import os, kubernetes_validate, kubernetes_validate.utils as u
schemas = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
have = {d[1:-len("-local-strict")] for d in os.listdir(schemas) if d.endswith("-local-strict")}
vs = sorted(have, key=lambda v: tuple(int(x) for x in v.split(".")))
assert u.latest_version() in have, (u.latest_version(), vs)
print(vs[-1])
EOF
)"
HELM_V="$("$HELM" version --template '{{.Version}}')"
KV_V="$("$VENV/bin/kubernetes-validate" --version)"
echo "== helm $HELM_V (module $HELM_VERSION), kubernetes-validate $KV_V, Kubernetes schemas $K8S_VERSION"

# ------------------------------------------------------------------ renders
# "defaults": values.yaml as it is plus the three secrets it refuses to do without.
cat > "$WORK/required-secrets.yaml" <<'EOF'
auth:
  accessKey: check-admin
  secretKey: check-admin-secret
  clusterSecret: check-cluster-secret-0123456789
EOF

render() { # NAME VALUES...: lint, template, validate, facts
  local name="$1"; shift
  local args=() f
  for f in "$@"; do args+=(-f "$f"); done
  echo "-- $name"
  if "$HELM" lint --strict "$CHART" --kube-version "$K8S_VERSION" "${args[@]}" > "$WORK/$name.lint" 2>&1; then
    echo "    lint    ok"; ok
  else
    sed 's/^/    /' "$WORK/$name.lint"; fail "$name: helm lint --strict"
  fi
  if ! "$HELM" template "check-$name" "$CHART" --namespace "ns-$name" --kube-version "$K8S_VERSION" \
      "${args[@]}" > "$WORK/$name.yaml" 2> "$WORK/$name.err"; then
    sed 's/^/    /' "$WORK/$name.err"; fail "$name: helm template"; return 0
  fi
  echo "    render  $(grep -c '^kind:' "$WORK/$name.yaml") documents"
  # NOTES.txt (helm template leaves it out): rendered through a copy of the chart.
  if "$HELM" template "check-$name" "$NOTES_CHART" --namespace "ns-$name" --kube-version "$K8S_VERSION" \
      "${args[@]}" --show-only templates/notes-preview.yaml > "$WORK/$name.notes" 2>&1 &&
      grep -q "arustio" "$WORK/$name.notes" && ! grep -q "<no value>" "$WORK/$name.notes"; then
    echo "    notes   ok"; ok
  else
    sed 's/^/    /' "$WORK/$name.notes"; fail "$name: NOTES.txt"
  fi
  if "$PY" "$HERE/check_chart.py" validate "$WORK/$name.yaml" "$K8S_VERSION"; then ok; else fail "$name: schema validation"; fi
  if "$PY" "$HERE/check_chart.py" facts "$WORK/$name.yaml" "$CHART" "$@"; then ok; else fail "$name: facts"; fi
}

NOTES_CHART="$WORK/notes-chart"
cp -r "$CHART" "$NOTES_CHART"
cp "$CHART/templates/NOTES.txt" "$NOTES_CHART/notes.src"
printf 'notes: |\n{{ tpl (.Files.Get "notes.src") . | indent 2 }}\n' > "$NOTES_CHART/templates/notes-preview.yaml"

echo "== lint, render, validate"
render defaults "$WORK/required-secrets.yaml"
shopt -s nullglob
ci_files=("$CHART"/ci/*.yaml)
(( ${#ci_files[@]} >= 2 )) || fail "fewer than 2 values files in ci/"
for f in "${ci_files[@]}"; do
  render "$(basename "$f" .yaml)" "$f"
done

# ------------------------------------------------------------------ refused values
echo "== values the chart must refuse"
refuse() { # WHAT EXPECTED-MESSAGE HELM-ARGS...
  local what="$1" msg="$2"; shift 2
  if "$HELM" template r "$CHART" --kube-version "$K8S_VERSION" "$@" > /dev/null 2> "$WORK/refuse.err"; then
    fail "refuse $what: rendered"
  elif grep -qF -- "$msg" "$WORK/refuse.err"; then
    echo "    ok      $what: \"$msg\""; ok
  else
    fail "refuse $what: wrong error: $(tr '\n' ' ' < "$WORK/refuse.err")"
  fi
}
S=(--set-string auth.accessKey=a,auth.secretKey=b)
refuse "no cluster secret (plain defaults)" "auth.clusterSecret is required"
refuse "empty cluster secret" "auth.clusterSecret is required" "${S[@]}" --set-string auth.clusterSecret=
refuse "short cluster secret" "auth.clusterSecret is too short" "${S[@]}" --set-string auth.clusterSecret=0123456789
refuse "no access key" "auth.accessKey is required" --set-string auth.clusterSecret=0123456789abcdefgh,auth.secretKey=b
refuse "no secret key" "auth.secretKey is required" --set-string auth.clusterSecret=0123456789abcdefgh,auth.accessKey=a
G=(-f "$WORK/required-secrets.yaml")
refuse "tls without a Secret" "tls.enabled needs tls.secretName" "${G[@]}" --set tls.enabled=true
refuse "zero replicas" "replicas must be at least 1" "${G[@]}" --set replicas=0
refuse "a mount without uri" "needs a uri" "${G[@]}" --set 'mounts[0].path=/x'
refuse "a relative mount path" "must start with /" "${G[@]}" --set 'mounts[0].path=x,mounts[0].uri=mem://'
refuse "a bad log format" "config.logFormat must be text or json" "${G[@]}" --set config.logFormat=xml
# existingSecret needs none of the secrets in values.
if "$HELM" template r "$CHART" --kube-version "$K8S_VERSION" --set auth.existingSecret=mine > /dev/null 2>&1; then
  echo "    ok      existingSecret renders without secrets in values"; ok
else
  fail "existingSecret without secrets in values did not render"
fi

# ------------------------------------------------------------------ mutations
# Each breaks one feature in a copy of the chart; the fact checks must notice.
echo "== mutations the fact checks must catch"
TLS_CI="$CHART/ci/tls-monitoring-values.yaml"
mutate() { # WHAT FILE FROM TO
  local what="$1" file="$2" from="$3" to="$4" m="$WORK/mutant"
  rm -rf "$m"; cp -r "$CHART" "$m"
  "$PY" - "$m/$file" "$from" "$to" <<'EOF'
import sys
p, a, b = sys.argv[1:]
s = open(p).read()
assert a in s, f"mutation target {a!r} not in {p}"
open(p, "w").write(s.replace(a, b, 1))
EOF
  if ! "$HELM" template mut "$m" --kube-version "$K8S_VERSION" -f "$TLS_CI" > "$m.yaml" 2> "$m.err"; then
    fail "mutation $what: does not render: $(tr '\n' ' ' < "$m.err")"; return 0
  fi
  if "$PY" "$HERE/check_chart.py" facts "$m.yaml" "$m" "$TLS_CI" > "$m.out" 2>&1; then
    fail "mutation $what: not caught"
  else
    echo "    caught  $what ($(grep -c FAIL "$m.out") failed)"; ok
  fi
}
mutate "no publishNotReadyAddresses" templates/service-headless.yaml "publishNotReadyAddresses: true" "publishNotReadyAddresses: false"
mutate "readiness on /health/live" templates/statefulset.yaml "path: /health/ready" "path: /health/live"
mutate "TLS Secret not mounted" templates/statefulset.yaml "mountPath: /etc/arustio/tls" "mountPath: /etc/arustio/certs"
mutate "runAsNonRoot off" values.yaml "  runAsNonRoot: true" "  runAsNonRoot: false"
mutate "node id = ordinal" templates/statefulset.yaml 'ARUSTIO_NODE_ID=$((ordinal + 1))' 'ARUSTIO_NODE_ID=$ordinal'
mutate "join over http with TLS" templates/_helpers.tpl '{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}' 'http'
mutate "Job does not wait for all voters" templates/init-job-secret.yaml '[ "$voters" -ge "$want" ]' '[ "$voters" -ge 1 ]'
mutate "Job mounts an existing path again" templates/init-job-secret.yaml 'grep -qF "\"path\":\"$path\""' 'false'
mutate "readonly flag dropped" templates/init-job-secret.yaml ' --readonly{{ end }}' '{{ end }}'
mutate "no PVC template" templates/statefulset.yaml "        name: data" "        name: state"
mutate "image ENV overrides config.toml" templates/statefulset.yaml "unset ARUSTIO_DATA_DIR" ": ARUSTIO_DATA_DIR"
mutate "replicas ignored" templates/statefulset.yaml "replicas: {{ .Values.replicas }}" "replicas: 3"
mutate "ServiceMonitor on both Services" templates/servicemonitor.yaml "      app.kubernetes.io/component: peers" ""

# ------------------------------------------------------------------ summary
echo "== summary: helm $HELM_V, kubernetes-validate $KV_V (Kubernetes $K8S_VERSION schemas, strict);" \
  "$((${#ci_files[@]} + 1)) value sets; $passed checks passed, $failures failed"
if (( failures > 0 )); then
  echo "check.sh: FAILED"
  exit 1
fi
echo "check.sh: OK"
