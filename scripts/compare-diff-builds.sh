#!/usr/bin/env bash
# Checks that two builds of opsta-lint print the same `diff` (stdout byte for byte, and the exit code), for
# changes to the diff engine that must not change what it prints:
#
#   scripts/compare-diff-builds.sh OLD_BINARY NEW_BINARY      (CORPUS: the shared corpus, default ../shared/corpus)
#
# Pairs: every ordered pair of testdata/diff/ (itself included); every manifest under testdata/ against copies
# with edited values; every ordered pair of the corpus's Catalyst renders; every real-chart render against
# copies with edited values (as scripts/bench-instructions.sh and scripts/bench-diff.sh make them), and against
# a copy with secret-shaped values changed; a manifest with a secret of every masking class on each side (as
# tests/it/leaks.rs writes it). Each pair runs with several option sets (text in both colour modes, JSON,
# context, --full, --ignore, --find-renames, --show-secrets). Prints the number of pairs and of runs, and each
# difference.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 corpus=${CORPUS:-../shared/corpus}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
pairs=()
add() { pairs+=("$1|$2"); }

# Every `step`-th line holding a plain `key: value` gets `-edited` appended to its value, from the `first`-th.
edit() {
  awk -v first="$2" -v step="$3" '
    /^ *-? *[A-Za-z0-9_.-]+: [A-Za-z0-9][A-Za-z0-9.\/_-]*$/ {
      seen++
      if (seen >= first && (seen - first) % step == 0) { print $0 "-edited"; next }
    }
    { print }' "$1"
}
# Values under secret-looking keys, URL passwords and flag values changed.
edit_secrets() {
  sed -E 's/((password|token|secret|key|auth)[A-Za-z_]*: *)([A-Za-z0-9])/\1x\3/I; s#(://[^:/@ ]+:)([^@ ]+)@#\1changed\2@#; s/(--[a-z-]*(password|token)[= ]+)([A-Za-z0-9])/\1y\3/' "$1"
}

for a in testdata/diff/*.yaml; do
  for b in testdata/diff/*.yaml; do add "$a" "$b"; done
done
n=0
while IFS= read -r f; do
  n=$((n + 1))
  edit "$f" 1 7 > "$w/t$n-a.yaml"; add "$f" "$w/t$n-a.yaml"
  edit "$f" 3 40 > "$w/t$n-b.yaml"; add "$f" "$w/t$n-b.yaml"
  edit_secrets "$f" > "$w/t$n-s.yaml"; add "$f" "$w/t$n-s.yaml"
done < <(grep -rl '^kind:' testdata --include='*.yaml' | sort)
if [ -d "$corpus" ]; then
  for a in "$corpus"/catalyst/rendered/*.yaml; do
    for b in "$corpus"/catalyst/rendered/*.yaml; do [ "$a" = "$b" ] || add "$a" "$b"; done
  done
  for f in "$corpus"/real-charts/*.yaml; do
    base=$(basename "$f" .yaml)
    awk 'NR % 40 == 0 && /: [a-z0-9]/ { sub(/: /, ": x") } { print }' "$f" > "$w/$base-40.yaml"
    add "$f" "$w/$base-40.yaml"
    edit "$f" 5 100 > "$w/$base-100.yaml"; add "$w/$base-100.yaml" "$f"
    edit_secrets "$f" > "$w/$base-s.yaml"; add "$f" "$w/$base-s.yaml"
  done
else
  echo "compare-diff-builds: $corpus not found: testdata only" >&2
fi

# A secret of every masking class on each side (the manifest of tests/it/leaks.rs).
python3 - "$w" <<'EOF'
import base64, sys
def manifest(side):
    s = lambda i: f"LEAK{i + 1:02d}secret-{side}"
    b64 = lambda t: base64.b64encode(t.encode()).decode()
    last = '{"apiVersion":"v1","data":{"db":"%s"},"kind":"Secret","metadata":{"name":"creds"}}' % b64(s(2))
    cm = ('{"apiVersion":"v1","data":{"key.pem":"-----BEGIN PRIVATE KEY-----\\n%s\\n-----END PRIVATE KEY-----\\n"}'
          ',"kind":"ConfigMap"}') % s(20)
    pod = ('{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"args":["--api-token","%s"],"name":"app"}]}}'
           % s(21))
    docker = '{"auths":{"r":{"password":"%s"}}}' % s(6)
    return f"""---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{last}'
type: Opaque
data:
  db: {b64(s(0))}
stringData:
  extra: {s(1)}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: files
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{cm}'
data:
  key.pem: |
    -----BEGIN RSA PRIVATE KEY-----
    {s(3)}
    -----END RSA PRIVATE KEY-----
  config.yaml: |
    host:
      join_token: {s(19)}
    tls:
      key: |
        -----BEGIN EC PRIVATE KEY-----
        {s(4)}
        -----END EC PRIVATE KEY-----
  config.json: '{{"auths":{{"registry.example":{{"auth":"{s(5)}","email":"ops@example"}}}}}}'
  .dockerconfigjson: '{docker}'
  database: postgres://app:{s(7)}@db.example:5432/app
  app.xml: |
    <config><user>app</user><password>{s(8)}</password></config>
  app.ini: |
    [db]
    host = db
    password = {s(9)}
  app.properties: |
    db.host=db
    db.password={s(10)}
  app.env: |
    DB_HOST=db
    DB_PASS={s(11)}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{pod}'
spec:
  containers:
  - name: app
    image: nginx:1.27
    command: ["/app", "--password", "{s(13)}"]
    args: ["--api-token", "{s(12)}", "--token={s(14)}", "-v"]
    env:
    - {{name: DB_PASS, value: {s(15)}}}
    - {{name: ENCRYPTION_KEY, value: {s(16)}}}
    - {{name: SECRET_KEY_BASE, value: {s(17)}}}
    - {{name: PASSPHRASE, value: {s(18)}}}
    - name: FROM_SECRET
      valueFrom:
        secretKeyRef: {{name: visible-ref-name, key: visible-ref-key}}
    - {{name: KEY_NAME, value: x, keyName: visible-key-name}}
  volumes:
  - name: creds
    secret: {{secretName: visible-secret-name}}
"""
w = sys.argv[1]
for side in ["old", "new"]:
    open(f"{w}/leaks-{side}.yaml", "w").write(manifest(side))
open(f"{w}/leaks-half.yaml", "w").write(manifest("old").replace("LEAK1", "LEAKX1"))
open(f"{w}/empty.yaml", "w").write("")
EOF
add "$w/leaks-old.yaml" "$w/leaks-new.yaml"
add "$w/leaks-old.yaml" "$w/leaks-half.yaml"
add "$w/leaks-new.yaml" "$w/leaks-old.yaml"
add "$w/empty.yaml" "$w/leaks-new.yaml"
add "$w/leaks-old.yaml" "$w/empty.yaml"

options=(
  "--color=never"
  "--color=always"
  "-o json"
  "--color=never -C 0 --full"
  "--color=always -C 8 --ignore metadata.labels.helm.sh/chart --ignore *.*.description"
  "-o json --full --find-renames 0.5 -n prod"
  "--color=never --show-secrets"
)
runs=0 differ=0
for p in "${pairs[@]}"; do
  a=${p%%|*} b=${p#*|}
  for o in "${options[@]}"; do
    # shellcheck disable=SC2086
    set +e
    "$old" diff $o "$a" "$b" > "$w/out-old" 2> /dev/null; rc_old=$?
    "$new" diff $o "$a" "$b" > "$w/out-new" 2> /dev/null; rc_new=$?
    set -e
    runs=$((runs + 1))
    if [ "$rc_old" != "$rc_new" ] || ! cmp -s "$w/out-old" "$w/out-new"; then
      differ=$((differ + 1))
      echo "DIFFERS: diff $o $a $b (exit $rc_old / $rc_new)"
    fi
  done
done
echo "pairs: ${#pairs[@]}; runs: $runs; differing: $differ"
[ "$differ" = 0 ]
