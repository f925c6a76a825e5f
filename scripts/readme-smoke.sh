#!/usr/bin/env bash
# Runs the README's quick start as written: its run command, then its curl command, and checks
# that the order is created (the `HTTP/1.1 201 Created` status line the README promises, a
# Location header, a UUID) and confirmed. The commands are read from README.md (the fenced
# block after each `<!-- readme-smoke:NAME -->` marker), so a README that drifts from the code
# fails here.
set -euo pipefail
cd "$(dirname "$0")/.."

block() { # the fenced block that follows <!-- readme-smoke:$1 -->
  awk -v m="<!-- readme-smoke:$1 -->" '
    $0 == m { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' README.md
}

# The README as a page: every link it makes stays in the repository and exists, and its first
# image (the hero) reads at README width, not a whole page scaled down.
python3 - <<'PY'
import os, re, struct, sys
text = open("README.md", encoding="utf-8").read()
bad = []
for target in re.findall(r"\]\(([^)\s]+)\)", text):
    if re.match(r"[a-z]+:", target) or target.startswith("#"):
        continue
    path = target.split("#")[0]
    if path.startswith("/") or os.path.normpath(path).startswith(".."):
        bad.append(f"{target}: outside the repository")
    elif not os.path.exists(path):
        bad.append(f"{target}: no such file")
images = re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", text)
if images:
    with open(images[0], "rb") as f:
        head = f.read(24)
    width, height = struct.unpack(">II", head[16:24])
    if height > 1.25 * width:
        bad.append(f"hero image {images[0]} is {width}x{height} px: crop it to read at README width")
if bad:
    sys.exit("README: " + "; ".join(bad))
PY

run_cmd=$(block run)
create_cmd=$(block create)
[ -n "$run_cmd" ] && [ -n "$create_cmd" ] || { echo "README smoke markers not found" >&2; exit 1; }
if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
  echo "port 3000 is in use; the README's commands need it free" >&2; exit 1
fi

export WORKSHOP_DATA_DIR
WORKSHOP_DATA_DIR=$(mktemp -d)
log="$WORKSHOP_DATA_DIR/stack.out"
bash -c "$run_cmd" >"$log" 2>&1 &
stack=$!
cleanup() { kill "$stack" 2>/dev/null || true; pkill -P "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; rm -rf "$WORKSHOP_DATA_DIR"; }
trap cleanup EXIT

for _ in $(seq 1 600); do
  grep -q "Local stack ready" "$log" && break
  kill -0 "$stack" 2>/dev/null || { cat "$log"; echo "the stack exited" >&2; exit 1; }
  sleep 0.5
done
grep -q "Local stack ready" "$log" || { cat "$log"; echo "the stack did not start" >&2; exit 1; }

# The README's create command prints the response as the reader sees it (curl -i): the status
# line, the headers, a blank line, then the body. It must show the promised status line; the
# body is what follows the headers' blank line. (Piped, curl draws a progress meter on stderr:
# kept aside, shown if the command fails.)
create_err="$WORKSHOP_DATA_DIR/create.err"
reply=$(bash -c "$create_cmd" 2>"$create_err") ||
  { cat "$create_err" >&2; echo "README create command failed: $reply" >&2; exit 1; }
reply=${reply//$'\r'/}
status_line=$(head -n1 <<<"$reply")
headers=$(sed -n '2,/^$/p' <<<"$reply")
body=$(sed '1,/^$/d' <<<"$reply")
if [ "$status_line" != "HTTP/1.1 201 Created" ]; then
  echo "README create did not print the status line 'HTTP/1.1 201 Created' (its curl must keep -i); it printed:" >&2
  printf '%s\n' "$reply" >&2
  exit 1
fi
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$body") ||
  { echo "README create: the body after the headers is not an order: $body" >&2; exit 1; }
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || { echo "not a UUID: $id" >&2; exit 1; }
grep -qix "location: /orders/$id" <<<"$headers" || { echo "no Location header for $id: $headers" >&2; exit 1; }
grep -q '"total":0.50' <<<"$body" || { echo "unexpected total: $body" >&2; exit 1; }

for _ in $(seq 1 100); do
  order=$(curl -s "http://127.0.0.1:3000/orders/$id")
  if grep -q '"status":"CONFIRMED"' <<<"$order"; then
    # The console the README sends the reader to next, with its dashboards.
    console=$(grep -o '\[http://127.0.0.1:3001\]' README.md | head -n1 | tr -d '[]')
    [ -n "$console" ] || { echo "the README no longer links the console" >&2; exit 1; }
    curl -sf "$console/" | grep -q '<title>' || { echo "no console page at $console" >&2; exit 1; }
    curl -sf "$console/api/dashboards" | grep -q '"operations"' || { echo "no dashboards at $console" >&2; exit 1; }
    echo "readme smoke: 1 passed, 0 failed (order $id created and CONFIRMED; console at $console)"
    exit 0
  fi
  sleep 0.1
done
echo "order $id not CONFIRMED: $order" >&2
exit 1
