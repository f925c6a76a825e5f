#!/usr/bin/env bash
# Runs the README's quick start as written: its run command, then its curl command, and checks
# that the order is created (201, a UUID) and confirmed. The commands are read from README.md
# (the fenced block after each `<!-- readme-smoke:NAME -->` marker), so a README that drifts
# from the code fails here.
set -euo pipefail
cd "$(dirname "$0")/.."

block() { # the fenced block that follows <!-- readme-smoke:$1 -->
  awk -v m="<!-- readme-smoke:$1 -->" '
    $0 == m { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' README.md
}

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

# curl's -w prints the status after the body (curl itself expands the \n).
reply=$(bash -c "$create_cmd -w '\n%{http_code}'")
status=$(tail -n1 <<<"$reply")
body=$(sed '$d' <<<"$reply")
[ "$status" = 201 ] || { echo "README create returned $status: $body" >&2; exit 1; }
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$body")
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || { echo "not a UUID: $id" >&2; exit 1; }
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
