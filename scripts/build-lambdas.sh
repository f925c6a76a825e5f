#!/usr/bin/env bash
# Builds one Lambda bootstrap per function with cargo-lambda: arm64 (Graviton, what
# template.yaml deploys) when the aarch64 standard library can be installed, else x86_64 with a
# plain warning. Checks that every function of the template got its bootstrap.
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

missing=0
for f in create-order get-order list-orders health order-processor order-sweeper; do
  bin="target/lambda/$f/bootstrap"
  if [ -f "$bin" ]; then
    printf '%-16s %s  %s\n' "$f" "$(du -h "$bin" | cut -f1)" "$(file -b "$bin" | cut -d, -f1-2)"
  else
    echo "missing: $bin" >&2; missing=1
  fi
done
exit "$missing"
