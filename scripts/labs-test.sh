#!/usr/bin/env bash
# Keeps the labs in workshop/labs/ honest: runs every shell command of every lab's
# "## Local track" against a real local stack, as an attendee would paste them, so a renamed
# flag, metric or alarm breaks this test. The commands are read from the Markdown, never
# copied here.
#
#   scripts/labs-test.sh                 every lab, in order
#   scripts/labs-test.sh 03 07           only these labs (number or file name)
#   scripts/labs-test.sh --check         only the static checks (no stack): sections, images,
#                                        no <placeholders>, bash -n of every sh block of both
#                                        tracks and of scripts/aws/*.sh
#   scripts/labs-test.sh --list          the labs and their blocks
#   -v, --verbose                        stream each lab's output instead of keeping it for
#                                        the failure report
#
# The convention (workshop/labs/README.md, "How the labs stay honest"):
# - In "## Local track", every fenced block whose info string is `sh` runs, in order, in one
#   bash session per lab (`set -euo pipefail`), from the repo root.
# - `sh background` is the local stack (a long-running command): started in the background
#   (own process group, output to a log), then the harness waits until
#   http://127.0.0.1:3001/api/about answers (up to 600 s: the first `cargo run` builds). At
#   most one runs at a time: a later `sh background` block stops the previous one first, as
#   Ctrl-C would. The stack is stopped at the end of the lab.
# - `sh stop` is Ctrl-C in the stack's terminal: the harness sends SIGINT to the stack and
#   waits for it to exit. Its content is for the reader and must be comments only.
# - Any other info string (`text`, `json`, `console`, none) is output shown to the reader and
#   never runs. `bash`/`shell` blocks are refused in the two tracks (use `sh`).
# - "## AWS track" `sh` blocks are not run (no AWS here) but must pass `bash -n`.
# - Each lab gets a fresh data dir (WORKSHOP_DATA_DIR=$(mktemp -d)) and the default ports
#   3000/3001, so labs run one at a time. jq is installed with apt-get when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LABS_DIR=${LABS_DIR:-workshop/labs}
# Screenshots the labs may reference (docs/images/<name>.png).
IMAGES="operations-calm operations-alarm chaos dlq traces-list traces-waterfall traces-fault"
READY_URL=http://127.0.0.1:3001/api/about
READY_TIMEOUT=${LABS_READY_TIMEOUT:-600}
LAB_TIMEOUT=${LABS_LAB_TIMEOUT:-900}
REQUIRED_SECTIONS=("## Local track" "## AWS track" "## What you should see" "## Why it happens" "## Clean-up")

check_only=0 list_only=0 verbose=0
selected=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --list) list_only=1 ;;
    -v | --verbose) verbose=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "labs-test.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) selected+=("$arg") ;;
  esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/labs-test.XXXXXX")
# The lab session and the harness share the stack's process group id through this file, so
# either can stop it.
STACK_PID_FILE=$WORK/stack.pid

# __lab_stop_group PID_FILE: Ctrl-C (SIGINT) the process group whose id PID_FILE holds and
# wait up to 20 s for all of it to exit (kill -0 -PGID: is any process of the group alive, not
# only its leader), then SIGKILL what is left. Returns 0 when it stopped on Ctrl-C, 1 when it
# had to be killed, 2 when nothing was running. The lab session gets the same function
# (harness.sh), so the harness and a lab's `sh stop` block stop a stack alike.
__lab_stop_group() {
  [ -f "$1" ] || return 2
  local pgid
  pgid=$(cat "$1")
  rm -f "$1"
  kill -0 -- "-$pgid" 2>/dev/null || return 2
  kill -INT -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  return 1
}

stop_stack() {
  local rc=0
  __lab_stop_group "$STACK_PID_FILE" || rc=$?
  if [ "$rc" = 1 ]; then
    echo "labs-test: the stack did not stop on Ctrl-C within 20 s; killing it" >&2
  fi
  return 0
}

keep_work=0
cleanup_all() {
  stop_stack || true
  if [ "$keep_work" = 1 ]; then
    echo "labs-test: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# ---- extraction ---------------------------------------------------------------------------
# extract FILE DIR: writes each fenced block of FILE to DIR/NNN.sh and a line per block to
# DIR/index: "NNN<TAB>section<TAB>info<TAB>line". section is local, aws or other.
extract() {
  mkdir -p "$2"
  awk -v dir="$2" '
    function section_of(h) {
      if (h ~ /^## Local track[[:space:]]*$/) return "local"
      if (h ~ /^## AWS track[[:space:]]*$/) return "aws"
      return "other"
    }
    BEGIN { section = "other"; inside = 0; n = 0 }
    !inside && /^## / { section = section_of($0) }
    !inside && /^```/ {
      info = substr($0, 4); gsub(/^[ \t]+|[ \t]+$/, "", info)
      n++; inside = 1
      file = sprintf("%s/%03d.sh", dir, n)
      printf "" > file
      printf "%03d\t%s\t%s\t%d\n", n, section, (info == "" ? "-" : info), NR >> (dir "/index")
      next
    }
    inside && /^```[ \t]*$/ { inside = 0; close(file); next }
    inside { print >> file }
    END { if (inside) { printf "unclosed code fence at end of file\n" > "/dev/stderr"; exit 1 } }
  ' "$1"
  touch "$2/index"
}

lab_files() {
  local f base s want
  for f in "$LABS_DIR"/[0-9][0-9]-*.md; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .md)
    if [ ${#selected[@]} -eq 0 ]; then
      echo "$f"
      continue
    fi
    for s in "${selected[@]}"; do
      want=$(basename "$s" .md)
      [[ "$want" =~ ^[0-9]+$ ]] && want=$(printf '%02d' "$((10#$want))")
      if [ "$want" = "$base" ] || [ "$want" = "${base%%-*}" ]; then
        echo "$f"
        break
      fi
    done
  done
}

# ---- static checks ------------------------------------------------------------------------
problems=0
problem() { echo "  ✗ $*" >&2; problems=$((problems + 1)); }

static_check() { # FILE DIR
  local f=$1 dir=$2 s num section info line body
  for s in "${REQUIRED_SECTIONS[@]}"; do
    grep -qxF "$s" "$f" || problem "$f: no \"$s\" section"
  done
  grep -q '^\*\*Goal\*\*' "$f" || problem "$f: no **Goal** paragraph"
  # Images: only the screenshots that exist (or will), by a path relative to the lab.
  while IFS= read -r ref; do
    local name=${ref#../../docs/images/}
    name=${name%.png}
    [[ " $IMAGES " == *" $name "* ]] || problem "$f: image $ref is not one of: $IMAGES"
  done < <(grep -o '!\[[^]]*\]([^)]*)' "$f" | sed -E 's/.*\(([^)]*)\)/\1/')
  grep -n '!\[' "$f" | grep -v '](\.\./\.\./docs/images/[a-z-]*\.png)' | while IFS= read -r l; do
    problem "$f:${l%%:*}: images are referenced as ../../docs/images/<name>.png"
  done || true
  # Fences inside lists would not be seen by the extractor: refuse them in the tracks.
  if grep -nE '^[[:space:]]+```(sh|bash)' "$f" >/dev/null; then
    problem "$f: indented sh fences are not extracted; put commands at column 0"
  fi
  while IFS=$'\t' read -r num section info line; do
    [ "$section" = other ] && continue
    local lang=${info%% *}
    case "$lang" in
      bash | shell | zsh) problem "$f:$line: use \`\`\`sh (not $lang) for commands in the $section track" ;;
    esac
    [ "$lang" = sh ] || continue
    body="$dir/$num.sh"
    case "$info" in
      sh | "sh background") ;;
      "sh stop")
        if grep -vqE '^[[:space:]]*(#.*)?$' "$body"; then
          problem "$f:$line: a \`sh stop\` block is Ctrl-C: comments only"
        fi
        ;;
      *) problem "$f:$line: unknown info string \"$info\" (sh, sh background, sh stop)" ;;
    esac
    if ! bash -n "$body" 2>"$dir/$num.syntax"; then
      problem "$f:$line: bash -n fails: $(tr '\n' ' ' <"$dir/$num.syntax")"
    fi
    # Runnable verbatim: no <placeholder> for the reader to fill in.
    if grep -nE '<[A-Za-z][A-Za-z0-9 _.-]*>' "$body" | grep -vE '<<-?[[:space:]]*[A-Za-z_]' >/dev/null; then
      problem "$f:$line: a <placeholder> in a command; capture the value in a variable instead"
    fi
    if [ "$section" = local ] && [ "$info" = "sh" ] && ! grep -qvE '^[[:space:]]*(#.*)?$' "$body"; then
      problem "$f:$line: an empty sh block"
    fi
  done <"$dir/index"
  if [ "$(awk -F'\t' '$2 == "local" && $3 ~ /^sh/' "$dir/index" | wc -l)" -eq 0 ]; then
    problem "$f: no sh block in its Local track"
  fi
}

echo "== static checks"
mapfile -t LABS < <(lab_files)
if [ ${#LABS[@]} -eq 0 ]; then
  echo "labs-test.sh: no lab matches ${selected[*]:-$LABS_DIR/NN-*.md}" >&2
  exit 2
fi
# Every lab is checked statically, whichever are selected to run.
for f in "$LABS_DIR"/[0-9][0-9]-*.md; do
  dir="$WORK/$(basename "$f" .md)"
  extract "$f" "$dir" || problem "$f: cannot extract its code blocks"
  static_check "$f" "$dir"
done
for f in "$LABS_DIR/README.md" "$LABS_DIR/INSTRUCTOR.md"; do
  [ -f "$f" ] || problem "$f is missing"
done
for f in scripts/aws/*.sh "$0"; do
  [ -f "$f" ] || continue
  bash -n "$f" 2>"$WORK/syntax" || problem "$f: bash -n fails: $(tr '\n' ' ' <"$WORK/syntax")"
done
if [ "$problems" -gt 0 ]; then
  echo "labs: static checks found $problems problem(s)" >&2
  exit 1
fi
echo "   $(ls "$LABS_DIR"/[0-9][0-9]-*.md | wc -l) labs, every sh block parses, scripts/aws/*.sh parse"

if [ "$list_only" = 1 ]; then
  for f in "${LABS[@]}"; do
    echo "$f"
    awk -F'\t' '$2 != "other" && $3 ~ /^sh/ { printf "  line %-4s %-6s %s\n", $4, $2, $3 }' \
      "$WORK/$(basename "$f" .md)/index"
  done
  exit 0
fi
[ "$check_only" = 1 ] && { echo "labs: static checks passed"; exit 0; }

# ---- tools --------------------------------------------------------------------------------
if ! command -v jq >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing jq (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
  fi
  command -v jq >/dev/null || { echo "labs-test.sh: jq is required (apt-get install jq)" >&2; exit 1; }
fi
command -v curl >/dev/null || { echo "labs-test.sh: curl is required" >&2; exit 1; }
echo "== cargo build -p workshop (and with --features aws, as the AWS labs' commands run it)"
build_start=$SECONDS
cargo build -q -p workshop
cargo build -q -p workshop --features aws
echo "   built in $((SECONDS - build_start)) s"

# ---- the stack ----------------------------------------------------------------------------
# Functions the lab session calls for `sh background` and `sh stop` blocks.
{
  declare -f __lab_stop_group
  cat <<'EOF'
__lab_stop_stack() {
  local rc=0
  __lab_stop_group "$__LAB_STACK_PID_FILE" || rc=$?
  case "$rc" in
    0) echo "[labs-test] stack stopped (Ctrl-C)" ;;
    1) echo "[labs-test] the stack did not stop on Ctrl-C within 20 s" >&2; return 1 ;;
  esac
  return 0
}
__lab_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
__lab_start_stack() { # FILE: the block's commands
  __lab_stop_stack
  local t
  for t in $(seq 1 60); do
    __lab_port_busy 3000 || __lab_port_busy 3001 || break
    [ "$t" = 60 ] && { echo "[labs-test] ports 3000/3001 are still in use (another stack?)" >&2; return 1; }
    sleep 1
  done
  { echo; echo "=== [labs-test] $(date +%T) starting: $(grep -v '^[[:space:]]*#' "$1" | tr '\n' ' ')"; } >>"$__LAB_STACK_LOG"
  local offset
  offset=$(wc -c <"$__LAB_STACK_LOG")
  # Started from a subshell, so the stack is not a job of this session: a `wait` in a lab waits
  # for the lab's own background commands only. setsid: its own process group, stopped as one.
  (setsid bash "$1" >>"$__LAB_STACK_LOG" 2>&1 </dev/null & echo $! >"$__LAB_STACK_PID_FILE")
  local pid
  pid=$(cat "$__LAB_STACK_PID_FILE")
  local start=$SECONDS
  while [ $((SECONDS - start)) -lt "$__LAB_READY_TIMEOUT" ]; do
    # Ready: this stack printed its ready line (so it bound the ports) and the console answers.
    if grep -q '^Local stack ready' <(tail -c +"$((offset + 1))" "$__LAB_STACK_LOG") && curl -sf -m 2 "$__LAB_READY_URL" >/dev/null 2>&1; then
      echo "[labs-test] stack ready after $((SECONDS - start)) s"
      return 0
    fi
    kill -0 -- "-$pid" 2>/dev/null || { echo "[labs-test] the stack exited before it was ready" >&2; return 1; }
    sleep 1
  done
  echo "[labs-test] the stack was not ready within $__LAB_READY_TIMEOUT s" >&2
  return 1
}
EOF
} >"$WORK/harness.sh"

# Daemons a lab starts on its own (moto server in lab 10) record their pid in a *.pid file in
# the lab's data dir; whatever is still running after the lab is stopped here.
stop_pid_files() { # DATA_DIR
  local f pid
  for f in "$1"/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -0 "$pid" 2>/dev/null || continue
    echo "   stopping pid $pid left running ($(basename "$f"))"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# ---- running one lab ----------------------------------------------------------------------
passed=0 failed=0
failed_labs=()
summary=()

run_lab() { # FILE
  local f=$1 name dir script out data stack_log status block
  name=$(basename "$f" .md)
  dir="$WORK/$name"
  script="$dir/session.sh"
  out="$dir/output.log"
  stack_log="$dir/stack.log"
  : >"$stack_log"
  # One bash session: the blocks in order, each announced, background/stop through the harness.
  {
    echo 'set -euo pipefail'
    echo "source '$WORK/harness.sh'"
    echo '__lab_jobs_cleanup() { local j; for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done; }'
    echo "trap '__lab_jobs_cleanup' EXIT"
    echo "trap 'exit 143' TERM"
    while IFS=$'\t' read -r num section info line; do
      [ "$section" = local ] || continue
      case "$info" in
        sh)
          echo "echo $num >'$dir/current'; echo '[labs-test] block $num (line $line)'"
          cat "$dir/$num.sh"
          echo
          ;;
        "sh background")
          echo "echo $num >'$dir/current'; echo '[labs-test] block $num (line $line): stack in the background'"
          echo "__lab_start_stack '$dir/$num.sh'"
          ;;
        "sh stop")
          echo "echo $num >'$dir/current'; echo '[labs-test] block $num (line $line): Ctrl-C the stack'"
          echo "__lab_stop_stack"
          ;;
      esac
    done <"$dir/index"
    echo "echo done >'$dir/current'"
  } >"$script"

  data=$(mktemp -d "${TMPDIR:-/tmp}/labs-data.XXXXXX")
  local start=$SECONDS
  echo "== $name"
  status=0
  if [ "$verbose" = 1 ]; then
    env WORKSHOP_DATA_DIR="$data" __LAB_STACK_PID_FILE="$STACK_PID_FILE" __LAB_STACK_LOG="$stack_log" \
      __LAB_READY_URL="$READY_URL" __LAB_READY_TIMEOUT="$READY_TIMEOUT" \
      timeout -k 10 "$LAB_TIMEOUT" bash "$script" 2>&1 </dev/null | tee "$out" || status=${PIPESTATUS[0]}
  else
    env WORKSHOP_DATA_DIR="$data" __LAB_STACK_PID_FILE="$STACK_PID_FILE" __LAB_STACK_LOG="$stack_log" \
      __LAB_READY_URL="$READY_URL" __LAB_READY_TIMEOUT="$READY_TIMEOUT" \
      timeout -k 10 "$LAB_TIMEOUT" bash "$script" >"$out" 2>&1 </dev/null || status=$?
  fi
  stop_stack
  stop_pid_files "$data"
  local took=$((SECONDS - start))
  block=$(cat "$dir/current" 2>/dev/null || echo "?")
  if [ "$status" -eq 0 ] && [ "$block" = done ]; then
    passed=$((passed + 1))
    summary+=("$(printf '   %-34s passed  %4d s' "$name" "$took")")
    echo "   passed in $took s"
    rm -rf "$data"
    return 0
  fi
  failed=$((failed + 1))
  failed_labs+=("$name")
  summary+=("$(printf '   %-34s FAILED  %4d s' "$name" "$took")")
  keep_work=1
  local line
  line=$(awk -F'\t' -v n="$block" '$1 == n { print $4 }' "$dir/index")
  {
    echo "   FAILED after $took s (exit $status$([ "$status" = 124 ] && echo ": the lab timed out after $LAB_TIMEOUT s")) in block $block of $f${line:+, line $line}:"
    if [ -f "$dir/$block.sh" ]; then
      echo "   ---- the block"
      sed 's/^/   | /' "$dir/$block.sh"
    fi
    echo "   ---- the last 40 lines of the lab's output"
    tail -n 40 "$out" | sed 's/^/   | /'
    if [ -s "$stack_log" ]; then
      echo "   ---- the last 40 lines of the stack's log"
      tail -n 40 "$stack_log" | sed 's/^/   | /'
    fi
    echo "   (data dir kept: $data)"
  } >&2
}

total_start=$SECONDS
for f in "${LABS[@]}"; do
  run_lab "$f"
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "   total $((SECONDS - total_start)) s"
[ "$failed" -gt 0 ] && echo "   failed: ${failed_labs[*]}" >&2
echo "labs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
