#!/usr/bin/env bash
# The one test command: formatting, lints, every test, and the README's quick start.
# Installs what it needs; safe to run on a fresh machine with only rustup.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
for tool in curl python3 npm; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool"; }
done

step "moto server (AWS APIs for the adapter tests; never real AWS)"
./scripts/moto-server.sh install
MOTO_SERVER="$(./scripts/moto-server.sh path)"
export MOTO_SERVER

step "cargo fmt --check"
cargo fmt --all -- --check

# The workspace with workshop's `aws` feature (its AWS tracks' tests, against moto), and the
# workshop as the README builds it, without the AWS SDK.
step "cargo clippy"
cargo clippy --workspace --all-targets --locked --features workshop/aws -- -D warnings
cargo clippy -p workshop --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked --features workshop/aws
cargo test -p workshop --locked --lib --bins

step "browser console: headless Chromium (Debian) driven by playwright-core"
./scripts/console-test.sh

step "Postman collection with newman against the local stack"
./scripts/postman-test.sh

step "API contract: openapi-spec-validator, then schemathesis against the local stack"
./scripts/api-test.sh

step "labs: every command of every lab's local track, against a fresh local stack"
./scripts/labs-test.sh

step "template linters: cfn-lint, sam validate --lint, checkov, actionlint"
./scripts/lint-template.sh

step "Lambda binaries: cargo lambda build --release --arm64"
./scripts/build-lambdas.sh

step "benchmark harness: every table of BENCHMARKS.md, few runs on dev builds"
./scripts/bench.sh --quick --out "${CARGO_TARGET_DIR:-target}/BENCHMARKS.quick.md"

step "README quick start"
./scripts/readme-smoke.sh
