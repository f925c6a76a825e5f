#!/usr/bin/env bash
# Builds the functions and deploys one environment of the stack with SAM.
#
#   scripts/aws/deploy.sh [ENV] [--chaos-armed] [SAM DEPLOY OPTIONS...]
#
#   ENV            dev (the default), staging or prod: the samconfig.toml section to deploy
#                  (stack order-kit-dev, order-kit-staging, order-kit-prod)
#   --chaos-armed  deploy with ChaosArmed=true (the environment's other parameter values are
#                  kept from samconfig.toml), so `workshop chaos on --aws` can inject faults;
#                  deploy again without it to disarm. Refused for prod.
#   other options  passed to `sam deploy` (e.g. --region eu-west-1, --guided)
#
# Runs `sam build` (cargo-lambda, arm64), then `sam deploy --config-env ENV`, then prints the
# stack's outputs. Needs sam, aws, cargo and cargo-lambda (docs/aws.md, "What you need").
source "$(dirname "$0")/lib.sh"

env=dev
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  env=$1
  shift
fi
armed=0
sam_args=()
for arg in "$@"; do
  case "$arg" in
    --chaos-armed) armed=1 ;;
    -h | --help) usage 0 ;;
    *) sam_args+=("$arg") ;;
  esac
done
check_env "$env"
need_sam
need_aws
need cargo "install Rust with rustup (https://rustup.rs)"
cargo lambda --version >/dev/null 2>&1 ||
  die "cargo-lambda not found: pip install cargo-lambda (it brings zig, the cross-linker)"
if command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  echo "deploy.sh: note: the arm64 standard library is not installed;" \
    "if the build fails, run: rustup target add aarch64-unknown-linux-gnu" >&2
fi
stack=$(stack_name "$env")

overrides=()
if [ "$armed" = 1 ]; then
  [ "$env" != prod ] || die "refusing to arm chaos in prod; use dev or staging"
  # On the command line --parameter-overrides replaces samconfig.toml's whole line, so repeat
  # the environment's values with ChaosArmed switched on.
  current=$(toml_value "$env.deploy.parameters" parameter_overrides)
  [ -n "$current" ] || die "no parameter_overrides in [$env.deploy.parameters] of $SAMCONFIG"
  case "$current" in
    *ChaosArmed=*) armed_overrides=$(echo "$current" | sed 's/ChaosArmed=[a-z]*/ChaosArmed=true/') ;;
    *) armed_overrides="$current ChaosArmed=true" ;;
  esac
  overrides=(--parameter-overrides "$armed_overrides")
  echo "== chaos ARMED for $stack: $armed_overrides"
fi

cd "$REPO_ROOT"
echo "== sam build (cargo lambda build --release --arm64, one bootstrap per function)"
sam build
echo "== sam deploy --config-env $env (stack $stack)"
sam deploy --config-env "$env" ${overrides[@]+"${overrides[@]}"} ${sam_args[@]+"${sam_args[@]}"}
echo "== outputs of $stack"
aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
