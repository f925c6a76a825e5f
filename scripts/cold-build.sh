#!/usr/bin/env bash
# The README's first build, cold: `cargo build -p workshop` (what `cargo run -p workshop -- up`
# compiles) into an empty target dir, crates already downloaded (`cargo fetch` first, so the
# figure is the build, not the network). Prints the wall time and keeps cargo's --timings
# report, which says what the time went to.
#   scripts/cold-build.sh               # this checkout
#   scripts/cold-build.sh REV           # a commit of this repository (a throwaway worktree)
#   scripts/cold-build.sh REV -- ARGS   # extra cargo build arguments, e.g. --features aws
# Run it on a quiet machine: anything else using the cores shows in the figure.
set -euo pipefail
cd "$(dirname "$0")/.."

rev=""; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) rev="$1" ;;
  esac
  shift
done

src=$PWD
home=$PWD
scratch=$(mktemp -d)
cleanup() {
  [ -n "$rev" ] && git -C "$src" worktree remove --force "$scratch/src" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
if [ -n "$rev" ]; then
  git worktree add -q --detach "$scratch/src" "$rev"
  src="$scratch/src"
fi

cd "$src"
cargo fetch --locked -q
export CARGO_TARGET_DIR="$scratch/target"
start=$(date +%s%N)
cargo build -q --locked -p workshop --timings "${extra[@]}"
end=$(date +%s%N)
report="${OUT_DIR:-$home/target}/cold-build-$(git rev-parse --short HEAD).html"
mkdir -p "$(dirname "$report")"
cp "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing.html "$report"
crates=$(find "$CARGO_TARGET_DIR/debug/deps" -name '*.d' | sed 's#.*/##; s/-[0-9a-f]*\.d$//' | sort -u | wc -l)
printf 'cold build of workshop at %s (%s): %d s wall, %s crates, %s cores; timings: %s\n' \
  "$(git rev-parse --short HEAD)" "cargo build -p workshop ${extra[*]}" "$(( (end - start) / 1000000000 ))" \
  "$crates" "$(nproc)" "$report"
