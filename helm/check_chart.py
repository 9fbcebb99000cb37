#!/usr/bin/env python3
"""Checks of the arustio chart's rendered manifests, run by helm/check.sh.

  check_chart.py validate RENDERED.yaml K8S_VERSION
      Every document against the Kubernetes schemas (kubernetes-validate --strict),
      except the CRD kinds named in CRD_KINDS, whose structure is checked here.
  check_chart.py facts RENDERED.yaml CHART_DIR [VALUES.yaml ...]
      Facts about the output, derived from the chart's values.yaml merged with the given
      values files (as helm merges them), so each assert fails if the chart loses the
      feature: replicas, the headless Service, probes, security context, PVCs, TLS, ...
      The start wrapper and the init Job's script are run with /bin/sh against a fake
      `arustio`, to check the node ids, the join URL and the mount commands they produce.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

# Kinds that are not in the Kubernetes schemas, by apiVersion and kind. Nothing else is
# skipped: a document of any other kind without a schema is an error.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def key(doc):
    return (doc.get("apiVersion"), doc.get("kind"))


def check_servicemonitor(doc):
    errs = []
    md = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    if not md.get("name"):
        errs.append("metadata.name missing")
    sel = (spec.get("selector") or {}).get("matchLabels")
    if not isinstance(sel, dict) or not sel:
        errs.append("spec.selector.matchLabels missing or empty")
    eps = spec.get("endpoints")
    if not isinstance(eps, list) or not eps:
        errs.append("spec.endpoints missing or empty")
    for i, ep in enumerate(eps or []):
        if not isinstance(ep, dict) or not ep.get("port"):
            errs.append(f"spec.endpoints[{i}].port missing")
            continue
        allowed = {"port", "path", "scheme", "interval", "scrapeTimeout", "tlsConfig", "honorLabels",
                   "relabelings", "metricRelabelings", "bearerTokenSecret", "basicAuth", "params"}
        extra = set(ep) - allowed
        if extra:
            errs.append(f"spec.endpoints[{i}] has unknown fields {sorted(extra)}")
        if ep.get("scheme", "http") not in ("http", "https"):
            errs.append(f"spec.endpoints[{i}].scheme must be http or https")
        for d in ("interval", "scrapeTimeout"):
            if d in ep and not re.fullmatch(r"([0-9]+(ms|s|m|h))+", str(ep[d])):
                errs.append(f"spec.endpoints[{i}].{d} {ep[d]!r} is not a duration")
    ns = spec.get("namespaceSelector")
    if ns is not None and not (isinstance(ns, dict) and (ns.get("matchNames") or ns.get("any"))):
        errs.append("spec.namespaceSelector needs matchNames or any")
    return errs


CRD_CHECKS = {("monitoring.coreos.com/v1", "ServiceMonitor"): check_servicemonitor}


def validate(rendered, version):
    docs = load_docs(rendered)
    failures = []
    counts = {"schema": 0, "crd": 0}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, doc in enumerate(docs):
            name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            if key(doc) in CRD_KINDS:
                errs = CRD_CHECKS[key(doc)](doc)
                failures += [f"{name}: {e}" for e in errs]
                counts["crd"] += 1
                print(f"    crd     {name}: not in the Kubernetes schemas, structure checked"
                      + (" FAILED" if errs else " ok"))
                continue
            p = os.path.join(tmp, f"{i:02d}.yaml")
            with open(p, "w") as f:
                yaml.safe_dump(doc, f)
            files.append((p, name))
        if files:
            bin_dir = os.path.dirname(sys.executable)
            cmd = [os.path.join(bin_dir, "kubernetes-validate"), "--strict", "-k", version] + [p for p, _ in files]
            r = subprocess.run(cmd, capture_output=True, text=True)
            out = r.stdout + r.stderr
            names = dict(files)
            passed = 0
            for line in out.splitlines():
                for p, n in names.items():
                    line = line.replace(p, n)
                if line.startswith("INFO") and " passed " in line:
                    passed += 1
                elif line.strip():
                    # WARN (e.g. no schema for a kind) counts as a failure: never skip silently.
                    failures.append(line)
            if r.returncode != 0 and not failures:
                failures.append(f"kubernetes-validate exited {r.returncode}")
            if passed != len(files):
                failures.append(f"kubernetes-validate passed {passed} of {len(files)} documents")
            counts["schema"] = passed
            print(f"    schema  {passed}/{len(files)} documents valid (strict, Kubernetes {version})")
    for f in failures:
        print(f"    FAIL    {f}")
    return 1 if failures else 0


# ----------------------------------------------------------------------------- facts


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Facts:
    def __init__(self):
        self.failed = []
        self.count = 0

    def check(self, cond, what):
        self.count += 1
        if not cond:
            self.failed.append(what)


def one(docs, kind, pred=lambda d: True):
    found = [d for d in docs if d.get("kind") == kind and pred(d)]
    return found


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def run_wrapper(script, env, hostname):
    """Runs the StatefulSet's start wrapper with a fake arustio that prints its env and args."""
    with tempfile.TemporaryDirectory() as tmp:
        fake = os.path.join(tmp, "arustio")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\necho "ARGS=$*"\nenv | grep "^ARUSTIO_" | sort\n')
        os.chmod(fake, 0o755)
        assert "exec /usr/local/bin/arustio " in script, "the wrapper does not exec /usr/local/bin/arustio"
        script = script.replace("exec /usr/local/bin/arustio ", f"exec {fake} ")
        # What the image's Dockerfile sets (ENV): it must not override config.toml.
        e = {"PATH": "/usr/bin:/bin", "HOSTNAME": hostname, "ARUSTIO_DATA_DIR": "/var/lib/arustio",
             "ARUSTIO_S3_ADDR": "0.0.0.0:1", "ARUSTIO_GRPC_ADDR": "0.0.0.0:2", "ARUSTIO_METRICS_ADDR": "0.0.0.0:3"}
        e.update(env)
        r = subprocess.run(["/bin/sh", "-c", script], env=e, capture_output=True, text=True)
        out = {}
        for line in r.stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
        return r.returncode, out, r.stdout + r.stderr


FAKE_CLI = r"""#!/bin/sh
# A fake arustio CLI for the init Job's script: logs each call; answers from files.
echo "$*" >> "$FAKE_DIR/calls"
while [ $# -gt 0 ]; do case "$1" in -s) shift 2;; *) break;; esac; done
case "$1 $2" in
  "cluster status")
    n=$(cat "$FAKE_DIR/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/n"
    if [ "$n" -eq 0 ]; then echo "connection refused" >&2; exit 1; fi
    if [ "$n" -eq 1 ]; then cat "$FAKE_DIR/status1"; else cat "$FAKE_DIR/status2"; fi;;
  "fs list") cat "$FAKE_DIR/mounts";;
  "fs mount") ;;
  *) echo "unexpected call: $*" >&2; exit 2;;
esac
"""


def run_init(script, replicas, already):
    """Runs the init Job's script against a fake CLI: first no answer, then a cluster
    short of one voter, then a full one. Returns (rc, calls, output)."""
    with tempfile.TemporaryDirectory() as tmp:
        fake = os.path.join(tmp, "arustio")
        with open(fake, "w") as f:
            f.write(FAKE_CLI)
        os.chmod(fake, 0o755)

        def status(n):
            members = [{"id": 1, "role": "leader", "addr": "a:1", "lag": 0}]
            members += [{"id": i, "role": "voter", "addr": "a:1", "lag": 0} for i in range(2, n + 1)]
            members += [{"id": 99, "role": "learner", "addr": "a:1", "lag": 0}]
            return json.dumps({"node": 1, "leader": 1, "term": 1, "last_log_index": 5, "last_applied": 5,
                               "snapshot": None, "members": members}, separators=(",", ":"))

        with open(os.path.join(tmp, "status1"), "w") as f:
            f.write(status(replicas - 1) if replicas > 1 else
                    json.dumps({"leader": None, "members": []}, separators=(",", ":")))
        with open(os.path.join(tmp, "status2"), "w") as f:
            f.write(status(replicas))
        with open(os.path.join(tmp, "mounts"), "w") as f:
            f.write(json.dumps([{"capabilities": [], "mode": "rw", "node_local": False, "options": {},
                                 "path": p, "type": "s3", "uri": "s3://x"} for p in ["/"] + already],
                               separators=(",", ":")))
        script = script.replace("sleep 5", "sleep 0")
        env = {"PATH": f"{tmp}:/usr/bin:/bin", "FAKE_DIR": tmp}
        r = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        calls = open(os.path.join(tmp, "calls")).read().splitlines() if os.path.exists(
            os.path.join(tmp, "calls")) else []
        return r.returncode, calls, r.stdout + r.stderr


def facts(rendered, chart_dir, value_files):
    with open(os.path.join(chart_dir, "values.yaml")) as f:
        v = yaml.safe_load(f)
    for vf in value_files:
        with open(vf) as f:
            v = merge(v, yaml.safe_load(f) or {})
    docs = load_docs(rendered)
    F = Facts()
    c = F.check
    replicas = int(v["replicas"])
    tls = bool(v["tls"]["enabled"])
    scheme = "https" if tls else "http"
    existing = v["auth"]["existingSecret"]
    keys = v["auth"]["secretKeys"]

    for d in docs:
        n = d["metadata"]["name"]
        c(len(n) <= 63, f"{d['kind']}/{n}: name longer than 63")
        c(d["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "Helm",
          f"{d['kind']}/{n}: standard labels missing")

    sts_l = one(docs, "StatefulSet")
    c(len(sts_l) == 1, "exactly one StatefulSet")
    if not sts_l:
        return report(F)
    sts = sts_l[0]
    name = sts["metadata"]["name"]
    ns = sts["metadata"].get("namespace", "default")
    spec = sts["spec"]
    c(len(name) <= 52, "StatefulSet name at most 52 characters")
    c(spec.get("replicas") == replicas, f"StatefulSet replicas == {replicas} (got {spec.get('replicas')})")
    c(spec.get("podManagementPolicy") == "Parallel", "podManagementPolicy Parallel")
    pod_labels = spec["template"]["metadata"]["labels"]
    c(labels_match(spec["selector"]["matchLabels"], pod_labels), "StatefulSet selector matches its pods")

    # Headless Service.
    hl_l = one(docs, "Service", lambda d: d["metadata"]["name"] == spec.get("serviceName"))
    c(len(hl_l) == 1, "serviceName names a Service of the chart")
    if hl_l:
        hl = hl_l[0]["spec"]
        c(hl.get("clusterIP") == "None", "headless Service has clusterIP None")
        c(hl.get("publishNotReadyAddresses") is True, "headless Service has publishNotReadyAddresses: true")
        c(labels_match(hl.get("selector"), pod_labels), "headless Service selects the nodes")
        c(any(p["port"] == v["ports"]["grpc"] and p.get("targetPort") == "grpc" for p in hl["ports"]),
          "headless Service exposes gRPC")
    headless = spec.get("serviceName")

    # S3 Service.
    s3_l = one(docs, "Service", lambda d: d["spec"].get("clusterIP") != "None")
    c(len(s3_l) == 1, "one S3 Service")
    if s3_l:
        s3 = s3_l[0]["spec"]
        c(s3.get("type", "ClusterIP") == v["service"]["type"], f"S3 Service type {v['service']['type']}")
        ports = {p["name"]: p for p in s3["ports"]}
        c(ports.get("s3", {}).get("port") == v["service"]["port"], f"S3 Service port {v['service']['port']}")
        c(ports.get("s3", {}).get("targetPort") == "s3", "S3 Service targets the s3 port")
        c(ports.get("metrics", {}).get("targetPort") == "metrics", "S3 Service exposes metrics")
        c(labels_match(s3.get("selector"), pod_labels), "S3 Service selects the nodes")
        if v["service"]["type"] in ("NodePort", "LoadBalancer") and v["service"].get("nodePort"):
            c(ports.get("s3", {}).get("nodePort") == int(v["service"]["nodePort"]), "S3 nodePort set")
        if v["service"]["type"] == "LoadBalancer" and v["service"].get("loadBalancerSourceRanges"):
            c(s3.get("loadBalancerSourceRanges") == v["service"]["loadBalancerSourceRanges"],
              "loadBalancerSourceRanges set")

    # The node container.
    pod = spec["template"]["spec"]
    cont = next((x for x in pod["containers"] if x["name"] == "arustio"), None)
    c(cont is not None, "container arustio")
    if cont is None:
        return report(F)
    cports = {p["name"]: p["containerPort"] for p in cont["ports"]}
    c(cports == {"s3": v["ports"]["s3"], "grpc": v["ports"]["grpc"], "metrics": v["ports"]["metrics"]},
      f"container ports s3/grpc/metrics (got {cports})")
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"),
                        ("startupProbe", "/health/live")):
        g = (cont.get(probe) or {}).get("httpGet") or {}
        c(g.get("path") == path, f"{probe} path {path} (got {g.get('path')})")
        c(g.get("port") == "metrics", f"{probe} on the metrics port")
        c(g.get("scheme", "HTTP") == "HTTP", f"{probe} plain HTTP (also with TLS)")
    psc = pod.get("securityContext") or {}
    csc = cont.get("securityContext") or {}
    c(psc.get("runAsNonRoot") is True and csc.get("runAsNonRoot") is True, "runAsNonRoot")
    c(psc.get("runAsUser") == 10001 and psc.get("fsGroup") == 10001, "pod uid and fsGroup 10001")
    c(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    c(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
    c(cont.get("resources", {}) == v["resources"], "resources from values")

    mounts = {m["mountPath"]: m for m in cont.get("volumeMounts", [])}
    vols = {x["name"]: x for x in pod.get("volumes", [])}
    vct = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates", [])}
    c("data" in vct, "volumeClaimTemplates has data")
    if "data" in vct:
        c(vct["data"]["spec"]["resources"]["requests"]["storage"] == v["persistence"]["size"], "PVC size")
        sc = v["persistence"]["storageClass"]
        got = vct["data"]["spec"].get("storageClassName")
        c(got == ("" if sc == "-" else sc) if sc else got is None, f"PVC storageClass {sc!r} (got {got!r})")
    c(mounts.get("/var/lib/arustio", {}).get("name") == "data", "data PVC mounted at /var/lib/arustio")
    c("/tmp" in mounts and "emptyDir" in vols.get(mounts["/tmp"]["name"], {}), "/tmp is an emptyDir")

    def file_of(path):
        """(volume, key) that a file path in the container comes from, or None."""
        for mp, m in mounts.items():
            if path.startswith(mp.rstrip("/") + "/"):
                rel = path[len(mp.rstrip("/")) + 1:]
                vol = vols.get(m["name"], {})
                src = vol.get("configMap") or vol.get("secret")
                if src is None:
                    return None
                items = src.get("items")
                k = next((i["key"] for i in items if i["path"] == rel), None) if items else rel
                return (src.get("name") or src.get("secretName"), k, m.get("readOnly", False))
        return None

    # config.toml.
    cmd = cont.get("command") or []
    c(cmd[:2] == ["/bin/sh", "-c"] and len(cmd) == 3, "the container runs the /bin/sh wrapper")
    wrapper = cmd[2] if len(cmd) == 3 else ""
    m = re.search(r"--config (\S+)", wrapper)
    c(m is not None, "the wrapper passes --config")
    cfg = {}
    if m:
        src = file_of(m.group(1))
        c(src is not None, "the config file is mounted")
        cms = one(docs, "ConfigMap", lambda d: src and d["metadata"]["name"] == src[0])
        c(len(cms) == 1 and src[1] in cms[0]["data"], "the config file comes from the chart's ConfigMap")
        if cms and src[1] in cms[0]["data"]:
            try:
                cfg = tomllib.loads(cms[0]["data"][src[1]])
            except tomllib.TOMLDecodeError as e:
                c(False, f"config.toml parses: {e}")
    c(cfg.get("data_dir", "").startswith("/var/lib/arustio/"), "data_dir on the PVC")
    for k, port in (("s3_addr", "s3"), ("grpc_addr", "grpc"), ("metrics_addr", "metrics")):
        c(cfg.get(k) == f"0.0.0.0:{v['ports'][port]}", f"{k} binds 0.0.0.0:{v['ports'][port]}")
    c(cfg.get("insecure") is (not tls), f"insecure = {not tls}")
    c("cluster_secret" not in cfg and "secret_key" not in cfg, "no secret in config.toml")
    secret_name = existing or name
    src = file_of(cfg.get("cluster_secret_file", "/nonexistent/x"))
    c(src is not None and src[0] == secret_name and src[1] == keys["clusterSecret"] and src[2],
      f"cluster_secret_file is the {keys['clusterSecret']} key of Secret {secret_name}, read-only (got {src})")
    if v["config"].get("cacheDisk"):
        c(cfg.get("cache_disk") == v["config"]["cacheDisk"] and
          cfg.get("cache_disk_dir", "").startswith("/var/lib/arustio/"), "disk cache tier on the PVC")
    for ek, ev in (v["config"].get("extra") or {}).items():
        c(cfg.get(ek) == ev and type(cfg.get(ek)) is type(ev), f"config.extra {ek} = {ev!r} (got {cfg.get(ek)!r})")

    # Credentials.
    env = {e["name"]: e for e in cont.get("env", [])}
    for var, k in (("ARUSTIO_ACCESS_KEY", keys["accessKey"]), ("ARUSTIO_SECRET_KEY", keys["secretKey"])):
        ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
        c(ref.get("name") == secret_name and ref.get("key") == k, f"{var} from Secret {secret_name}/{k}")
    chart_secret = one(docs, "Secret", lambda d: d["metadata"]["name"] == name)
    if existing:
        c(not chart_secret, "no chart Secret with existingSecret")
    else:
        c(len(chart_secret) == 1 and set(chart_secret[0].get("data", {})) == set(keys.values()),
          "the chart's Secret holds the three keys")

    # TLS.
    tls_vols = [x for x in vols.values() if x.get("secret", {}).get("secretName") == v["tls"]["secretName"]
                and v["tls"]["secretName"]]
    if tls:
        for k in ("tls_cert", "tls_key", "tls_ca"):
            src = file_of(cfg.get(k, "/nonexistent/x"))
            want = {"tls_cert": "tls.crt", "tls_key": "tls.key", "tls_ca": "ca.crt"}[k]
            c(src is not None and src[0] == v["tls"]["secretName"] and src[1] == want and src[2],
              f"{k} is {want} of Secret {v['tls']['secretName']}, mounted read-only (got {src})")
    else:
        c(not tls_vols and not any(k in cfg for k in ("tls_cert", "tls_key", "tls_ca")), "no TLS without tls.enabled")

    # The start wrapper, run for the first and the last pod.
    wenv = {e["name"]: e["value"] for e in cont.get("env", []) if "value" in e}
    seed = f"{scheme}://{name}-0.{headless}.{ns}.svc.{v['clusterDomain']}:{v['ports']['grpc']}"
    for ordinal in sorted({0, replicas - 1}):
        rc, out, raw = run_wrapper(wrapper, wenv, f"{name}-{ordinal}")
        c(rc == 0, f"wrapper runs for pod {ordinal}: {raw}")
        c(out.get("ARGS", "").startswith("serve --config "), f"wrapper execs arustio serve (pod {ordinal})")
        for k in ("ARUSTIO_DATA_DIR", "ARUSTIO_S3_ADDR", "ARUSTIO_GRPC_ADDR", "ARUSTIO_METRICS_ADDR"):
            c(k not in out, f"the image's {k} does not override config.toml (pod {ordinal})")
        c(out.get("ARUSTIO_NODE_ID") == str(ordinal + 1), f"pod {ordinal} is node {ordinal + 1} (got {out.get('ARUSTIO_NODE_ID')})")
        c(out.get("ARUSTIO_ADVERTISE_ADDR") == f"{name}-{ordinal}.{headless}.{ns}.svc.{v['clusterDomain']}:{v['ports']['grpc']}",
          f"pod {ordinal} advertise address (got {out.get('ARUSTIO_ADVERTISE_ADDR')})")
        if ordinal == 0:
            c("ARUSTIO_JOIN" not in out, "pod 0 forms the cluster (no join)")
        else:
            c(out.get("ARUSTIO_JOIN") == seed, f"pod {ordinal} joins {seed} (got {out.get('ARUSTIO_JOIN')})")
    rc, _, _ = run_wrapper(wrapper, wenv, "nohyphen")
    c(rc != 0, "wrapper refuses a hostname without an ordinal")

    # PodDisruptionBudget.
    pdbs = one(docs, "PodDisruptionBudget")
    if v["pdb"]["enabled"] and replicas > 1:
        c(len(pdbs) == 1 and labels_match(pdbs[0]["spec"]["selector"]["matchLabels"], pod_labels), "PDB selects the nodes")
    else:
        c(not pdbs, "no PDB")

    # The init Job.
    jobs = one(docs, "Job")
    if not v["initJob"]["enabled"]:
        c(not jobs, "no init Job when initJob.enabled is false")
    else:
        c(len(jobs) == 1, "one init Job")
        job = jobs[0]
        ann = job["metadata"].get("annotations", {})
        c(set(ann.get("helm.sh/hook", "").split(",")) == {"post-install", "post-upgrade"}, "Job is a post-install,post-upgrade hook")
        jpod = job["spec"]["template"]["spec"]
        jlabels = job["spec"]["template"]["metadata"]["labels"]
        for svc in one(docs, "Service"):
            c(not labels_match(svc["spec"].get("selector"), jlabels), f"Service {svc['metadata']['name']} does not select the Job's pod")
        c(jpod.get("securityContext", {}).get("runAsNonRoot") is True, "Job runs as non-root")
        jc = jpod["containers"][0]
        jenv = {e["name"]: e for e in jc.get("env", [])}
        for var, k in (("ARUSTIO_ACCESS_KEY", keys["accessKey"]), ("ARUSTIO_SECRET_KEY", keys["secretKey"])):
            ref = jenv.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
            c(ref.get("name") == secret_name and ref.get("key") == k, f"Job {var} from the Secret")
        jmounts = {m["mountPath"]: m for m in jc.get("volumeMounts", [])}
        jvols = {x["name"]: x for x in jpod.get("volumes", [])}
        if tls:
            ca = jenv.get("ARUSTIO_TLS_CA", {}).get("value", "")
            mp = os.path.dirname(ca)
            vol = jvols.get(jmounts.get(mp, {}).get("name"), {}).get("secret", {})
            c(vol.get("secretName") == v["tls"]["secretName"] and jmounts[mp].get("readOnly") and
              any(i["key"] == "ca.crt" and i["path"] == os.path.basename(ca) for i in vol.get("items", [])),
              "Job has ARUSTIO_TLS_CA from the TLS Secret's ca.crt")
        # Its script: from the Secret it mounts.
        jcmd = jc.get("command") or []
        script_path = jcmd[-1] if jcmd else ""
        sm = jmounts.get(os.path.dirname(script_path), {})
        ssec = jvols.get(sm.get("name"), {}).get("secret", {}).get("secretName")
        sdocs = one(docs, "Secret", lambda d: d["metadata"]["name"] == ssec)
        c(jcmd[:1] == ["/bin/sh"] and len(sdocs) == 1, "the Job runs its script from a Secret")
        script = (sdocs[0].get("stringData") or {}).get(os.path.basename(script_path), "") if sdocs else ""
        admin = f"{scheme}://{headless}.{ns}.svc.{v['clusterDomain']}:{v['ports']['grpc']}"
        c(f"url='{admin}'" in script, f"Job talks to {admin}")
        want = v["mounts"] or []
        # The last mount is reported as mounted already: the script must leave it alone.
        already = [want[-1]["path"].rstrip("/") or "/"] if want else []
        rc, calls, out = run_init(script, replicas, already)
        c(rc == 0, f"init script succeeds against a fake cluster: {out}")
        c(sum(1 for x in calls if "cluster status --json" in x) == 3,
          f"init script waits for {replicas} voters and a leader (calls: {calls})")
        c(all(x.startswith(f"-s {admin} ") for x in calls), "every CLI call goes to the cluster URL")
        mounted = [x.split(" ", 2)[2] for x in calls if " fs mount " in x]
        expect = []
        for mnt in want[:-1]:
            p = mnt["path"].rstrip("/") or "/"
            opts = "".join(f"-o {k}={val} " for k, val in sorted((mnt.get("options") or {}).items()))
            expect.append(f"fs mount {opts}{'--readonly ' if mnt.get('readonly') else ''}{p} {mnt['uri']}")
        c(mounted == expect, f"init script mounts {expect} and skips {already} (got {mounted})")
        # And a cluster that never gets its voters makes the Job fail.
        short = script.replace(f"want={replicas}", f"want={replicas + 1}")
        short = re.sub(r"deadline=\$\(\( \$\(date \+%s\) \+ \d+ \)\)", "deadline=$(( $(date +%s) + 1 ))", short)
        rc, _, _ = run_init(short, replicas, already)
        c(rc != 0, "init script fails when the cluster does not form in time")

    # ServiceMonitor.
    sms = one(docs, "ServiceMonitor")
    if v["serviceMonitor"]["enabled"]:
        c(len(sms) == 1, "one ServiceMonitor")
        if sms:
            sm = sms[0]
            c(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor apiVersion monitoring.coreos.com/v1")
            for k, val in (v["serviceMonitor"].get("labels") or {}).items():
                c(sm["metadata"]["labels"].get(k) == val, f"ServiceMonitor label {k}={val}")
            sel = sm["spec"]["selector"]["matchLabels"]
            targets = [s for s in one(docs, "Service") if labels_match(sel, s["metadata"].get("labels", {}))]
            c(len(targets) == 1, f"ServiceMonitor selects exactly one Service (got {[t['metadata']['name'] for t in targets]})")
            ep = sm["spec"]["endpoints"][0]
            c(ep.get("path") == "/metrics" and ep.get("scheme", "http") == "http", "ServiceMonitor scrapes http /metrics")
            if targets:
                c(ep.get("port") in {p["name"] for p in targets[0]["spec"]["ports"]}, "ServiceMonitor port is a port of the Service")
    else:
        c(not sms, "no ServiceMonitor by default")
    return report(F)


def report(F):
    for f in F.failed:
        print(f"    FAIL    {f}")
    print(f"    facts   {F.count - len(F.failed)}/{F.count} hold")
    return 1 if F.failed else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "validate":
        sys.exit(validate(sys.argv[2], sys.argv[3]))
    if len(sys.argv) >= 4 and sys.argv[1] == "facts":
        sys.exit(facts(sys.argv[2], sys.argv[3], sys.argv[4:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
