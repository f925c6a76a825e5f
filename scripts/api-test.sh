#!/usr/bin/env bash
# The API contract (api/openapi.yaml) against the real thing: openapi-spec-validator checks the
# document, then schemathesis (api/schemathesis.toml) fuzzes a fresh local stack from it:
# every operation, the stateful links (create -> get -> list -> the next page), no 5xx,
# responses that conform to the schema with documented statuses, headers and content types.
# A failure prints the request that reproduces it (curl) and its seed.
#
#   scripts/api-test.sh                 the default run (API_TEST_EXAMPLES examples an operation)
#   API_TEST_EXAMPLES=500 scripts/api-test.sh   a longer hunt
#   API_TEST_SEED=N scripts/api-test.sh         replay a run's seed
#
# The tools come from scripts/requirements-api.txt (pinned) into their venv; the stack is
# target/debug/workshop (built here), on free loopback ports with a throwaway data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/venvs.sh
source scripts/lib/venvs.sh

ensure_venv scripts/requirements-api.txt schemathesis
bin="$VENV_ROOT/schemathesis/bin"

printf '\n== openapi-spec-validator api/openapi.yaml\n'
"$bin/openapi-spec-validator" api/openapi.yaml

cargo build -q -p workshop --locked
workshop="${CARGO_TARGET_DIR:-$PWD/target}/debug/workshop"

work=$(mktemp -d)
stack_pid=""
cleanup() {
  [ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null && wait "$stack_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$workshop" up --port 0 --console-port 0 --quiet --data-dir "$work/data" >"$work/stack.out" 2>"$work/stack.err" &
stack_pid=$!
api=""
for _ in $(seq 1 600); do
  api=$(sed -n 's/^Local stack ready: API \(http:[^ ]*\).*/\1/p' "$work/stack.out")
  [ -n "$api" ] && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$work/stack.err" >&2; echo "api-test: the stack exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$api" ] || { echo "api-test: no ready line from workshop up" >&2; exit 1; }

printf '\n== schemathesis against %s\n' "$api"
seed=()
[ -n "${API_TEST_SEED:-}" ] && seed=(--seed "$API_TEST_SEED")
# Run from the scratch dir: schemathesis and hypothesis keep their caches in the working
# directory, and none of it belongs in the tree.
root=$PWD
(cd "$work" && "$bin/schemathesis" --no-color --config-file "$root/api/schemathesis.toml" \
  run "$root/api/openapi.yaml" --url "$api" \
  --max-examples "${API_TEST_EXAMPLES:-100}" ${seed[@]+"${seed[@]}"} --workers 1 \
  --report-dir "$work/reports")
