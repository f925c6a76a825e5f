#!/usr/bin/env bash
# The README's first build, cold: `cargo build -p workshop` (what `cargo run -p workshop -- up`
# compiles) into an empty target dir, crates already downloaded (`cargo fetch` first, so the
# figure is the build, not the network). Prints the wall time and keeps cargo's --timings
# report, which says what the time went to.
#   scripts/cold-build.sh                   # this checkout
#   scripts/cold-build.sh REV               # a commit of this repository (a throwaway worktree)
#   scripts/cold-build.sh REV -- ARGS       # extra cargo build arguments, e.g. --features aws
#   scripts/cold-build.sh --record REV [--note TEXT]
#                                           # REV, then this checkout, one after the other;
#                                           # writes table 9 of BENCHMARKS.md (TEXT: what
#                                           # changed between them, printed under the table)
# Run it on a quiet machine: anything else using the cores shows in the figure.
set -euo pipefail
cd "$(dirname "$0")/.."

rev="" record="" note="" extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    --record) record="${2:?--record takes the commit to compare with}"; shift ;;
    --note) note="${2:?--note takes a sentence}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "cold-build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) rev="$1" ;;
  esac
  shift
done

home=$PWD
report_dir="${OUT_DIR:-${CARGO_TARGET_DIR:-$home/target}}"

# measure REV: one cold build of REV ("" = this checkout); prints
# "COMMIT,SECONDS,CRATES,TARGET_BYTES" on stdout, the rest on stderr.
measure() {
  local rev=$1 src=$home scratch commit
  scratch=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the paths of this build
  trap "git -C '$home' worktree remove --force '$scratch/src' 2>/dev/null || true; rm -rf '$scratch'" RETURN
  if [ -n "$rev" ]; then
    git worktree add -q --detach "$scratch/src" "$rev"
    src="$scratch/src"
  fi
  commit=$(git -C "$src" rev-parse --short HEAD)
  [ -z "$rev" ] && ! git diff --quiet HEAD && commit="$commit+changes"
  (cd "$src" && cargo fetch --locked -q) >&2
  local start end
  start=$(date +%s%N)
  (cd "$src" && CARGO_TARGET_DIR="$scratch/target" cargo build -q --locked -p workshop --timings "${extra[@]}") >&2
  end=$(date +%s%N)
  mkdir -p "$report_dir"
  local report="$report_dir/cold-build-${commit}.html"
  cp "$scratch"/target/cargo-timings/cargo-timing.html "$report"
  local crates bytes seconds=$(( (end - start) / 1000000000 ))
  crates=$(find "$scratch/target/debug/deps" -name '*.d' | sed 's#.*/##; s/-[0-9a-f]*\.d$//' | sort -u | wc -l)
  bytes=$(du -sb "$scratch/target" | cut -f1)
  printf 'cold build of workshop at %s (%s): %d s wall, %s crates, %s MiB of target/, %s cores; timings: %s\n' \
    "$commit" "cargo build -p workshop ${extra[*]}" "$seconds" "$crates" "$(( bytes >> 20 ))" "$(nproc)" "$report" >&2
  echo "$commit,$seconds,$crates,$bytes"
}

if [ -z "$record" ]; then
  measure "$rev" >/dev/null
  exit 0
fi

[ ${#extra[@]} -eq 0 ] || { echo "cold-build.sh: --record measures the default build only" >&2; exit 2; }
before=$(measure "$record")
after=$(measure "")
command="scripts/cold-build.sh --record $record"
[ -z "$note" ] || command="$command --note NOTE"  # the note is printed under the table
cargo run -q --locked -p order-bench -- first-build \
  --build "before=$before" --build "after=$after" --note "$note" \
  --command "$command" \
  --measured "$(date -u '+%Y-%m-%d %H:%M UTC')" --cores "$(nproc)"
