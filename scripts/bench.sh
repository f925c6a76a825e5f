#!/usr/bin/env bash
# Reproduces every table of BENCHMARKS.md: builds what is measured (host release bootstraps,
# the workshop, the arm64 artifacts and their zips, the Node.js peer's packages), runs the
# criterion handler benches, then `order-bench run` (cold starts, memory, the local stack
# against a minimal server, the pipeline) against its own moto server on 127.0.0.1.
#   scripts/bench.sh                      # full plan into BENCHMARKS.md
#   scripts/bench.sh --quick --out F      # few runs of everything, dev builds: proves the
#                                         # harness works (CI); not figures to quote
#   scripts/bench.sh --invocations N      # the full plan with N invocations per memory run
#                                         # (10000 by default); the report names N
# Needs the ports of nothing else: every server it starts takes a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""; out=BENCHMARKS.md; invocations=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    --invocations) invocations="$2"; shift ;;
    *) echo "usage: scripts/bench.sh [--quick] [--out FILE] [--invocations N]" >&2; exit 2 ;;
  esac
  shift
done

target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$target/bench-work"
variants="$work/variants"
rm -rf "$work"; mkdir -p "$work"

for tool in node npm python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed (scripts/test.sh installs it)" >&2; exit 1; }
done
moto_server=$(scripts/moto-server.sh path)

echo "== Node.js peer packages"
(cd bench/node-peer && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

if [ -n "$quick" ]; then
  profile=dev; bin="$target/debug"; command="scripts/bench.sh --quick"
  cargo build -p order-lambdas -p workshop -p order-bench
  echo "== arm64 artifacts"
  scripts/build-lambdas.sh
  echo "== criterion (quick, dev profile)"
  CRITERION_HOME="$work/criterion" cargo bench -p order-bench --bench handlers --profile dev -- --quick --noplot
else
  profile=release; bin="$target/release"; command="scripts/bench.sh${invocations:+ --invocations $invocations}"
  # The tuning record: create-order built with what ships, then with one thing changed each
  # time. Built first, so nothing compiles while the figures are taken.
  # keep DIR LABEL FROM: the variant's binary and the label its row shows.
  keep() { mkdir -p "$variants/$1"; cp "$3/create-order" "$variants/$1/"; printf '%s' "$2" > "$variants/$1/label"; }
  echo "== tuning builds of create-order"
  cargo build --release -p order-lambdas --features mimalloc --bin create-order
  keep 1-mimalloc "release + mimalloc as the global allocator" "$target/release"
  for p in tuning-cargo-default tuning-opt-size; do
    cargo build --profile "$p" -p order-lambdas --bin create-order
  done
  keep 2-cargo-default "Cargo's default release: no LTO, 16 codegen units, not stripped" "$target/tuning-cargo-default"
  keep 3-opt-size "release with opt-level = \"s\"" "$target/tuning-opt-size"
  echo "== host release build"
  cargo build --release -p order-lambdas -p workshop -p order-bench
  keep 0-release "release, as shipped: fat LTO, 1 codegen unit, stripped, system allocator" "$target/release"
  echo "== arm64 artifacts"
  scripts/build-lambdas.sh
  echo "== criterion"
  CRITERION_HOME="$work/criterion" cargo bench -p order-bench --bench handlers -- --noplot
fi

# The variants' zips, packed as build-lambdas.sh packs the functions' (the bootstrap alone,
# executable, deflated).
if [ -d "$variants" ]; then
  python3 - "$variants" <<'PY'
import os, sys, zipfile
for d in sorted(os.listdir(sys.argv[1])):
    src = os.path.join(sys.argv[1], d, "create-order")
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(src + ".zip", "w") as z, open(src, "rb") as b:
        z.writestr(info, b.read())
PY
fi
variant_args=()
if [ -d "$variants" ]; then
  for d in "$variants"/*/; do variant_args+=(--variant "${d%/}"); done
fi

echo "== order-bench run ($([ -n "$quick" ] && echo quick || echo full) plan)"
"$bin/order-bench" run ${quick:+--quick} --out "$out" --command "$command" \
  --bootstraps "$bin" --profile "$profile" --workshop "$bin/workshop" \
  --moto-server "$moto_server" --node "$(command -v node)" --node-peer bench/node-peer \
  --lambda-dir "$target/lambda" --criterion "$work/criterion" --work "$work" \
  ${invocations:+--invocations "$invocations"} ${variant_args[@]+"${variant_args[@]}"}
