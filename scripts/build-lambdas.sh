#!/usr/bin/env bash
# Builds one Lambda bootstrap per function with cargo-lambda: arm64 (Graviton, what
# template.yaml deploys) when the aarch64 standard library can be installed, else x86_64 with a
# plain warning. Checks that every function of the template got its bootstrap, zips each as
# Lambda is given it (target/lambda/<function>/bootstrap.zip: the bootstrap alone, executable,
# deflated, as `sam build` packs it) and fails when an arm64 zip passes ZIP_LIMIT_BYTES.
#   scripts/build-lambdas.sh            # release, arm64 if possible
#   ARCH=x86_64 scripts/build-lambdas.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}/cargo-lambda"
req=scripts/requirements-cargo-lambda.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/cargo-lambda" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"

arch="${ARCH:-arm64}"
if [ "$arch" = arm64 ] && ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  if ! timeout 300 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
    echo "WARNING: the aarch64 standard library (rustup target add aarch64-unknown-linux-gnu)" \
         "cannot be installed on this machine; building x86_64 instead." \
         "Deploy these with Architectures: [x86_64] or build arm64 elsewhere." >&2
    arch=x86_64
  fi
fi

flag="--arm64"; [ "$arch" = x86_64 ] && flag="--x86-64"
cargo lambda build --release "$flag" -p order-lambdas

# The kit's budget for what each function uploads (5.5 MiB): tracing, the SDK clients and
# the TLS stack all fit in it; a change that passes it should say why in BENCHMARKS.md.
ZIP_LIMIT_BYTES=$((11 * 512 * 1024))
lambda_dir="${CARGO_TARGET_DIR:-target}/lambda"

failed=0
for f in create-order get-order list-orders health order-processor order-publisher; do
  bin="$lambda_dir/$f/bootstrap"
  if [ ! -f "$bin" ]; then
    echo "missing: $bin" >&2; failed=1; continue
  fi
  python3 - "$bin" <<'PY'
import sys, zipfile
src = sys.argv[1]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(src + ".zip", "w") as z, open(src, "rb") as b:
    z.writestr(info, b.read())
PY
  zip_bytes=$(stat -c %s "$bin.zip")
  printf '%-16s %s  zip %s  %s\n' "$f" "$(du -h "$bin" | cut -f1)" "$(du -h "$bin.zip" | cut -f1)" \
    "$(file -b "$bin" | cut -d, -f1-2)"
  if [ "$arch" = arm64 ] && [ "$zip_bytes" -gt "$ZIP_LIMIT_BYTES" ]; then
    echo "too big: $bin.zip is $zip_bytes bytes, over the $ZIP_LIMIT_BYTES-byte (5.5 MiB) budget" >&2
    failed=1
  fi
done
exit "$failed"
