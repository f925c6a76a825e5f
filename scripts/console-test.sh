#!/usr/bin/env bash
# The browser console's test: the real `workshop` binary, Debian's Chromium, playwright-core.
#
#   scripts/console-test.sh            install + run
#   scripts/console-test.sh install    Chromium (apt, as root) and workshop/console/node_modules (npm ci)
#   scripts/console-test.sh run        cargo build -p workshop --locked, then node --test workshop/console/tests/
#   scripts/console-test.sh vendor     re-copy uPlot and marked from node_modules into workshop/console/vendor/
#
# Env: WORKSHOP_BIN (default target/debug/workshop), SCREENSHOT_DIR (default
# target/console-screenshots), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
console="$root/workshop/console"
export npm_config_cache="${npm_config_cache:-${HOME}/.cache/order-kit/npm}"

install() {
  if [[ ! -x /usr/bin/chromium ]]; then
    echo "console-test: installing Debian's chromium" >&2
    if [[ "$(id -u)" -ne 0 ]]; then
      echo "console-test: /usr/bin/chromium is missing and this is not root: apt-get install chromium" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
  fi
  command -v node >/dev/null || { echo "console-test: node (>= 20) is required" >&2; exit 1; }
  if [[ ! -d "$console/node_modules" || "$console/package-lock.json" -nt "$console/node_modules" ]]; then
    echo "console-test: npm ci in workshop/console" >&2
    (cd "$console" && npm ci --no-audit --no-fund)
    touch "$console/node_modules"
  fi
}

run() {
  (cd "$root" && cargo build -p workshop --locked)
  cd "$root"
  # Wherever cargo put it (CARGO_TARGET_DIR may point outside the clone).
  export WORKSHOP_BIN="${WORKSHOP_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/workshop}"
  node --test workshop/console/tests/
}

vendor() {
  [[ -d "$console/node_modules" ]] || (cd "$console" && npm ci --no-audit --no-fund)
  local nm="$console/node_modules" out="$console/vendor"
  mkdir -p "$out"
  cp "$nm/uplot/dist/uPlot.iife.min.js" "$nm/uplot/dist/uPlot.min.css" "$out/"
  cp "$nm/uplot/LICENSE" "$out/uPlot.LICENSE"
  cp "$nm/marked/lib/marked.umd.js" "$out/marked.umd.js"
  cp "$nm/marked/LICENSE" "$out/marked.LICENSE"
  echo "console-test: vendored uplot $(node -p "require('$nm/uplot/package.json').version"), marked $(node -p "require('$nm/marked/package.json').version") into workshop/console/vendor/" >&2
}

case "${1:-all}" in
  install) install ;;
  run) run ;;
  vendor) vendor ;;
  all) install; run ;;
  *) echo "usage: $0 [install|run|vendor]" >&2; exit 2 ;;
esac
