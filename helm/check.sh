#!/bin/sh
# Static checks of the Helm chart helm/shiftkey for machines without `helm`
# (Debian ships none). It renders nothing; it checks:
#   - templates: every {{ has its }}, action syntax ({{- and -}} with a space),
#     if/range/with/define/block balanced with end, every include'd
#     template defined;
#   - Chart.yaml and values.yaml parse as YAML; Chart.yaml fields;
#   - every .Values.x.y a template references exists in values.yaml, and every
#     top-level value is used by some template;
#   - probes on /healthz and /readyz, the metrics Service and ServiceMonitor,
#     and the Grafana dashboard (JSON; every metric it queries is exported
#     by engine/pipeline/engine_metrics.c);
#   - secure defaults in values.yaml (non-root, read-only root FS, no
#     capabilities, seccomp, no token automount, requests and limits, no
#     password literal);
#   - the programs beside the engine (shiftkey-slack, shiftkey-provision, the
#     on-call connectors): opt-in, their own selector labels, secrets as
#     files only, probes on /healthz and /readyz, the security contexts, and
#     every --option the templates pass is one the program's C option table
#     has (connectors/*/);
#   - the example rules: valid file names, YAML, survive the ConfigMap's
#     literal block, and compile with `shiftkey rules check` when a CLI is
#     found ($SHIFTKEY_CLI, build/bin/shiftkey or build/test/bin/shiftkey).
# With helm on PATH it also runs `helm lint` and `helm template`.
# Prints "N passed, N failed" last (the format tests/run.sh adds up); exit 1
# on any failure. Needs /usr/bin/python3 with python3-yaml.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
py=/usr/bin/python3
if ! "$py" -c 'import yaml' 2>/dev/null; then
    echo "check.sh: needs $py with PyYAML (apt-get install python3-yaml)" >&2
    exit 2
fi
cli=${SHIFTKEY_CLI:-}
if [ -z "$cli" ]; then
    for c in "$root/build/bin/shiftkey" "$root/build/test/bin/shiftkey"; do
        [ -x "$c" ] && cli=$c && break
    done
fi
export SK_CHART="$here/shiftkey" SK_CLI="$cli"
exec "$py" - <<'PYEOF'
import os, re, subprocess, shutil, sys, tempfile
import yaml

chart = os.environ["SK_CHART"]
cli = os.environ.get("SK_CLI", "")
passed = failed = 0

def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok

def line_of(text, pos):
    return text.count("\n", 0, pos) + 1

# ---------------------------------------------------------------- templates
tdir = os.path.join(chart, "templates")
templates = {}
for name in sorted(os.listdir(tdir)):
    path = os.path.join(tdir, name)
    if os.path.isfile(path):
        templates[name] = open(path, encoding="utf-8").read()
expected = ["_helpers.tpl", "deployment.yaml", "configmap-rules.yaml", "secret.yaml",
            "serviceaccount.yaml", "poddisruptionbudget.yaml", "NOTES.txt",
            "service-metrics.yaml", "servicemonitor.yaml", "configmap-dashboard.yaml"]
for name in expected:
    check(name in templates, f"templates/{name} exists")

OPEN = ("if", "range", "with", "define", "block")
actions = {}  # template -> [(line, body)]
for name, text in templates.items():
    errors, acts, pos = [], [], 0
    while True:
        o = text.find("{{", pos)
        stray = text.find("}}", pos)
        if stray != -1 and (o == -1 or stray < o):
            errors.append(f"line {line_of(text, stray)}: '}}}}' without '{{{{'")
        if o == -1:
            break
        if text.startswith("{{/*", o) or text.startswith("{{- /*", o):
            end = text.find("*/", o)
            c = -1 if end == -1 else end + 2
            m = re.match(r"( -)?}}", text[c:]) if c != -1 else None
            if not m:
                errors.append(f"line {line_of(text, o)}: comment not closed by '*/}}}}'")
                break
            pos = c + m.end()
            continue
        c = text.find("}}", o + 2)
        nxt = text.find("{{", o + 2)
        if c == -1 or (nxt != -1 and nxt < c):
            errors.append(f"line {line_of(text, o)}: '{{{{' without '}}}}'")
            pos = o + 2
            continue
        raw = text[o + 2:c]
        if raw.startswith("-") and not raw.startswith("- "):
            errors.append(f"line {line_of(text, o)}: '{{{{-' needs a space after it")
        if raw.endswith("-") and not raw.endswith(" -"):
            errors.append(f"line {line_of(text, o)}: '-}}}}' needs a space before it")
        body = raw.strip("-").strip()
        # strings may not hold a newline in Go templates (raw strings aside)
        if "\n" in re.sub(r"`[^`]*`", "", body):
            errors.append(f"line {line_of(text, o)}: action spans lines")
        acts.append((line_of(text, o), body))
        pos = c + 2
    actions[name] = acts
    stack = []
    for ln, body in acts:
        word = re.match(r"[a-z]*", body).group(0)
        if word in OPEN:
            stack.append((word, ln))
        elif word == "else":
            if not stack or stack[-1][0] not in ("if", "range", "with"):
                errors.append(f"line {ln}: else outside if/range/with")
        elif word == "end":
            if not stack:
                errors.append(f"line {ln}: end without a block")
            else:
                stack.pop()
    for word, ln in stack:
        errors.append(f"line {ln}: '{word}' never ended")
    check(not errors, f"templates/{name}: {len(acts)} actions balanced", "; ".join(errors))

defined = {m for t in templates.values() for m in re.findall(r'{{-?\s*define\s+"([^"]+)"', t)}
used = {m for t in templates.values() for m in re.findall(r'(?:include|template)\s+"([^"]+)"', t)}
check(used <= defined, f"every included template is defined ({len(used)} used, {len(defined)} defined)",
      ", ".join(sorted(used - defined)))

# ---------------------------------------------------------------- Chart.yaml
def load(name):
    try:
        with open(os.path.join(chart, name), encoding="utf-8") as f:
            return yaml.safe_load(f), None
    except Exception as e:  # noqa: BLE001 - report any parse error
        return None, str(e)

meta, err = load("Chart.yaml")
if check(err is None and isinstance(meta, dict), "Chart.yaml parses as YAML", err or ""):
    check(meta.get("apiVersion") == "v2", "Chart.yaml apiVersion v2", str(meta.get("apiVersion")))
    check(meta.get("name") == os.path.basename(chart), "Chart.yaml name matches the directory",
          str(meta.get("name")))
    semver = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
    check(re.match(semver, str(meta.get("version", ""))) is not None, "Chart.yaml version is SemVer",
          str(meta.get("version")))
    check(isinstance(meta.get("appVersion"), str) and meta["appVersion"] != "",
          "Chart.yaml appVersion is a quoted string", repr(meta.get("appVersion")))

# ---------------------------------------------------------------- values.yaml
values, err = load("values.yaml")
if not check(err is None and isinstance(values, dict), "values.yaml parses as YAML", err or ""):
    print(f"{passed} passed, {failed} failed")
    sys.exit(1)

refs = {}
for name, text in templates.items():
    for m in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
        refs.setdefault(m.group(1)[1:], []).append(f"{name}:{line_of(text, m.start())}")

def exists(path):
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True

missing = [f"{p} ({', '.join(w[:2])})" for p, w in sorted(refs.items()) if not exists(p)]
check(not missing, f"all {len(refs)} .Values paths used by templates exist in values.yaml",
      "; ".join(missing))
top_used = {p.split(".")[0] for p in refs}
unused = sorted(set(values) - top_used)
check(not unused, "every top-level value is used by a template", ", ".join(unused))

def get(path, default=None):
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node

secure = [
    ("podSecurityContext.runAsNonRoot", True),
    ("securityContext.runAsNonRoot", True),
    ("securityContext.readOnlyRootFilesystem", True),
    ("securityContext.allowPrivilegeEscalation", False),
    ("securityContext.capabilities.drop", ["ALL"]),
    ("podSecurityContext.seccompProfile.type", "RuntimeDefault"),
    ("serviceAccount.automountServiceAccountToken", False),
    ("replicaCount", 2),
    ("terminationGracePeriodSeconds", 30),
    ("redis.password", ""),
    ("image.repository", "shiftkey/shiftkeyd"),
    ("image.tag", ""),
]
for path, want in secure:
    check(get(path) == want, f"default {path} = {want!r}", f"is {get(path)!r}")
for kind in ("requests", "limits"):
    r = get(f"resources.{kind}", {}) or {}
    check("cpu" in r and "memory" in r, f"default resources.{kind} has cpu and memory", repr(r))
check(bool(get("topologySpreadConstraints")), "default topologySpreadConstraints set")
check(get("podDisruptionBudget.enabled") is True, "PodDisruptionBudget enabled by default")
dep = templates.get("deployment.yaml", "")
check("SHIFTKEY_REDIS_PASSWORD\n" not in dep and not re.search(r"SHIFTKEY_REDIS_PASSWORD\b(?!_FILE)", dep),
      "deployment passes the Redis password only as a file (SHIFTKEY_REDIS_PASSWORD_FILE)")
check("checksum/rules" in dep and 'configmap-rules.yaml") . | sha256sum' in dep,
      "deployment has the checksum/rules annotation of the rules ConfigMap")
# probes: HTTP on the diagnostics port, liveness /healthz, readiness /readyz
probes = {k: (path, port) for k, path, port in re.findall(
    r"^\s*(livenessProbe|readinessProbe):\s*\n\s*httpGet:\s*\n\s*path: (\S+)\s*\n\s*port: (\S+)", dep, re.M)}
check(probes.get("livenessProbe") == ("/healthz", "metrics"), "liveness probe: GET /healthz on the metrics port",
      repr(probes))
check(probes.get("readinessProbe") == ("/readyz", "metrics"), "readiness probe: GET /readyz on the metrics port",
      repr(probes))
check(get("diag.enabled") is True and "SHIFTKEY_DIAG_ADDR" in dep and "containerPort: {{ .Values.diag.port }}" in dep,
      "diagnostics on by default in the chart (SHIFTKEY_DIAG_ADDR, containerPort)")
sm = templates.get("servicemonitor.yaml", "")
check("path: /metrics" in sm and "port: metrics" in sm and "kind: ServiceMonitor" in sm,
      "ServiceMonitor scrapes /metrics on the metrics port")
check("targetPort: metrics" in templates.get("service-metrics.yaml", ""),
      "metrics Service targets the metrics port")

# ---------------------------------------------------------------- programs
programs = {  # template -> (C sources whose option tables it may use, probe port)
    "deployment-slack.yaml": (["connectors/slack/slack.c"], "http"),
    "deployment-provision.yaml": (["connectors/provision/main.c"], "metrics"),
    "deployment-oncall.yaml": (["connectors/core/runner.c", "connectors/pagerduty/pagerduty.c",
                                "connectors/opsgenie/opsgenie.c", "connectors/jsm/jsm.c",
                                "connectors/ical/ical.c"], "metrics"),
}
for name in list(programs) + ["service-slack.yaml", "ingress-slack.yaml", "servicemonitor-programs.yaml"]:
    check(name in templates, f"templates/{name} exists")
check(get("slack.enabled") is False and get("provisioners") == [] and get("oncallConnectors") == [],
      "the programs are opt-in: slack.enabled false, provisioners and oncallConnectors empty")
repo = os.path.normpath(os.path.join(chart, "..", ".."))
for name, (sources, port) in programs.items():
    t = templates.get(name, "")
    pr = {k: (path, pt) for k, path, pt in re.findall(
        r"^\s*(livenessProbe|readinessProbe):\s*\n\s*httpGet:\s*\n\s*path: (\S+)\s*\n\s*port: (\S+)", t, re.M)}
    check(pr.get("livenessProbe") == ("/healthz", port) and pr.get("readinessProbe") == ("/readyz", port),
          f"{name}: liveness /healthz and readiness /readyz on port {port}", repr(pr))
    check('include "shiftkey.programSelectorLabels"' in t and 'include "shiftkey.selectorLabels"' not in t,
          f"{name}: its own selector labels (no engine selector matches its pods)")
    check("with .Values.securityContext" in t.replace("$.Values", ".Values")
          and "with .Values.podSecurityContext" in t.replace("$.Values", ".Values"),
          f"{name}: the pod and container security contexts")
    check("secretKeyRef" not in t and not re.search(r"SHIFTKEY_\w*(TOKEN|SECRET|PASSWORD|API_KEY)\b", t),
          f"{name}: no secret in the environment (files only)")
    opts = set()
    for src in sources:
        path = os.path.join(repo, src)
        if os.path.exists(path):
            opts |= set(re.findall(r'^\s*\{"([a-z][a-z0-9-]*)",', open(path, encoding="utf-8").read(), re.M))
    passed_opts = set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)=', t)) - {"kafka-config"}
    if opts:
        check(passed_opts and passed_opts <= opts,
              f"{name}: the {len(passed_opts)} options it passes exist in {', '.join(os.path.basename(s) for s in sources)}",
              ", ".join(sorted(passed_opts - opts)))
slack_t = templates.get("deployment-slack.yaml", "")
check(all(f"--{o}-file=/etc/shiftkey/slack/" in slack_t for o in ("signing-secret", "bot-token", "front-key"))
      and slack_t.count("subPath:") == 3 and "defaultMode: 0440" in slack_t,
      "shiftkey-slack: signing secret, bot token and front key from the Secret, each a file (subPath, 0440)")
check("persistentVolumeClaim" in slack_t and get("slack.persistence.enabled") is True
      and "type: Recreate" in slack_t and "replicas: 1" in slack_t,
      "shiftkey-slack: one replica, its journal on a PersistentVolumeClaim by default (nothing sent twice)")
ing = templates.get("ingress-slack.yaml", "")
check("path: /slack/" in ing and "pathType: Prefix" in ing and "/metrics" not in ing.split("*/}}")[-1],
      "the Slack Ingress routes /slack/ only (not /metrics nor the probes)")
oc = templates.get("deployment-oncall.yaml", "")
flags = dict(re.findall(r'"(pagerduty|opsgenie|jsm|ical)" "(--[a-z-]+)"', oc))
check(set(flags) == {"pagerduty", "opsgenie", "jsm", "ical"}, "on-call connectors: a secret-file option per source",
      repr(flags))
for src, flag in flags.items():
    cfile = os.path.join(repo, "connectors", src, src + ".c")
    if os.path.exists(cfile):
        check('{"%s",' % flag[2:] in open(cfile, encoding="utf-8").read(),
              f"on-call connectors: {flag} is an option of shiftkey-{src}")
check("--diag-addr=" in oc and "--metrics=" in templates.get("deployment-provision.yaml", ""),
      "the provisioners and on-call connectors serve /metrics, /healthz, /readyz on diag.port")
smp = templates.get("servicemonitor-programs.yaml", "")
check("kind: ServiceMonitor" in smp and "port: metrics" in smp and "port: http" in smp,
      "a ServiceMonitor scrapes the programs (metrics port; shiftkey-slack's http port)")

# ---------------------------------------------------------------- dashboard
import json
dpath = os.path.join(chart, "dashboards", "shiftkey.json")
try:
    dash = json.load(open(dpath, encoding="utf-8"))
    check(isinstance(dash.get("panels"), list) and dash["panels"], "dashboards/shiftkey.json parses, has panels")
except Exception as e:  # noqa: BLE001
    dash = {}
    check(False, "dashboards/shiftkey.json parses", str(e))
check('.Files.Get "dashboards/shiftkey.json"' in templates.get("configmap-dashboard.yaml", ""),
      "the dashboard ConfigMap ships dashboards/shiftkey.json")
src = os.path.join(os.path.dirname(chart), "..", "engine", "pipeline", "engine_metrics.c")
if os.path.exists(src):
    known = set(re.findall(r'"(shiftkey_[a-z_]+)"', open(src, encoding="utf-8").read()))
    exprs = [t["expr"] for p in dash.get("panels", []) for t in p.get("targets", [])]
    used_m = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"shiftkey_[a-z_]+", e)}
    check(used_m and used_m <= known, f"every metric the dashboard queries ({len(used_m)}) is one the engine exports",
          ", ".join(sorted(used_m - known)))

# ---------------------------------------------------------------- rules
rules = get("rules") or {}
check(isinstance(rules, dict) and rules, "values rules is a non-empty map of file -> content")
tmp = tempfile.mkdtemp(prefix="sk-helm-rules.")
try:
    for fname, content in (rules.items() if isinstance(rules, dict) else []):
        check(re.match(r"^[A-Za-z0-9_.-]+\.ya?ml$", fname) is not None and not fname.startswith("."),
              f"rules file name {fname!r} is a visible *.yaml/*.yml")
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        try:
            doc = yaml.safe_load(text)
            check(isinstance(doc, dict) and set(doc) <= {"apps", "rotations", "profiles", "enrollments"},
                  f"rules {fname} is YAML with only the four rule sections", repr(list(doc or {})))
        except yaml.YAMLError as e:
            check(False, f"rules {fname} is YAML", str(e))
        # the ConfigMap renders `"name": |` + (content | trimSuffix "\n" | nindent 4)
        body = text[:-1] if text.endswith("\n") else text
        block = f"data:\n  {fname!r}: |\n" + "\n".join("    " + l for l in body.split("\n")) + "\n"
        try:
            back = yaml.safe_load(block)["data"][fname]
            check(back.rstrip("\n") == text.rstrip("\n"), f"rules {fname} survives the ConfigMap literal block")
        except Exception as e:  # noqa: BLE001
            check(False, f"rules {fname} survives the ConfigMap literal block", str(e))
        with open(os.path.join(tmp, fname), "w", encoding="utf-8") as f:
            f.write(text)
    if cli:
        r = subprocess.run([cli, "rules", "check", tmp], capture_output=True, text=True)
        check(r.returncode == 0, f"example rules compile ({os.path.basename(cli)} rules check)",
              (r.stdout + r.stderr).strip())
        if r.returncode == 0:
            print("      " + r.stdout.strip())
    else:
        print("skip  example rules compile: no shiftkey CLI (build it, or set SHIFTKEY_CLI)")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

# ---------------------------------------------------------------- helm, if any
helm = shutil.which("helm")
if helm:
    sets = ["--set", "kafka.brokers=kafka:9092", "--set", "redis.address=redis:6379"]
    r = subprocess.run([helm, "lint", chart] + sets, capture_output=True, text=True)
    check(r.returncode == 0, "helm lint", (r.stdout + r.stderr)[-2000:])
    r = subprocess.run([helm, "template", "t", chart] + sets, capture_output=True, text=True)
    if check(r.returncode == 0, "helm template", r.stderr[-2000:]):
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
        check({d["kind"] for d in docs} >= {"Deployment", "ConfigMap", "ServiceAccount", "PodDisruptionBudget"},
              "helm template renders the expected kinds", repr(sorted({d["kind"] for d in docs})))
    r = subprocess.run([helm, "template", "t", chart], capture_output=True, text=True)
    check(r.returncode != 0 and "kafka.brokers is required" in r.stderr,
          "helm template without kafka.brokers fails with a message", r.stderr[-500:])
else:
    print("skip  helm lint / helm template: helm is not installed")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PYEOF
