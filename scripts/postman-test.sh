#!/usr/bin/env bash
# Runs the Postman collection (postman/) with newman against a fresh local stack, twice in a row
# against the same stack: the second run proves the collection can run again (new
# Idempotency-Keys, no leftover chaos). Works from a fresh clone: installs the pinned newman
# with `npm ci` and builds the workshop binary. Exits with newman's status.
#
#   scripts/postman-test.sh                          # the whole collection, twice
#   scripts/postman-test.sh --folder "Async flow"    # extra arguments go to both newman runs
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export npm_config_cache="${HOME}/.cache/order-kit/npm"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
echo "== npm ci (newman, pinned in postman/package-lock.json)"
(cd postman && npm ci --no-progress --loglevel=error)

echo "== cargo build -p workshop"
cargo build -p workshop --locked --quiet

data_dir=$(mktemp -d)
out="$data_dir/stack.out"
"${CARGO_TARGET_DIR:-$root/target}/debug/workshop" up --port 0 --console-port 0 --quiet --data-dir "$data_dir" \
  --chaos-armed --visibility-timeout 2 >"$out" 2>"$data_dir/stack.err" </dev/null &
stack=$!
cleanup() {
  kill "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The ready line: "Local stack ready: API http://ADDR  console http://ADDR  (...)".
ready=""
for _ in $(seq 1 120); do
  ready=$(grep -m1 '^Local stack ready: ' "$out" || true)
  [ -n "$ready" ] && break
  kill -0 "$stack" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "the local stack did not start within 60 s:" >&2
  cat "$out" "$data_dir/stack.err" >&2
  exit 1
fi
api=$(sed -E 's/.* API (http:\/\/[^ ]+) .*/\1/' <<<"$ready")
console=$(sed -E 's/.* console (http:\/\/[^ ]+) .*/\1/' <<<"$ready")
[[ "$api" =~ ^http://[0-9.]+:[0-9]+$ && "$console" =~ ^http://[0-9.]+:[0-9]+$ ]] || {
  echo "cannot read the addresses in: $ready" >&2
  exit 1
}
echo "== $ready"

status=0
for run in 1 2; do
  echo "== newman run $run of 2"
  postman/node_modules/.bin/newman run postman/order-kit.postman_collection.json \
    --environment postman/local.postman_environment.json \
    --env-var "baseUrl=$api" --env-var "consoleUrl=$console" \
    --reporters cli --color off --timeout-request 30000 "$@" || status=$?
done
[ "$status" -eq 0 ] && echo "postman: both runs passed" || echo "postman: newman failed (status $status)" >&2
exit "$status"
