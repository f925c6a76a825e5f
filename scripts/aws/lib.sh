# Shared by the scripts in scripts/aws/ (sourced, not run). Works with bash 3.2 (macOS) too.
set -euo pipefail

AWS_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$AWS_SCRIPTS_DIR/../.." && pwd)
SAMCONFIG=$REPO_ROOT/samconfig.toml

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# usage: prints the script's header comment (the lines after the shebang up to the first
# blank line) and exits with $1.
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit "${1:-0}"
}

need() { # TOOL HINT
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}
need_aws() {
  need aws "install the AWS CLI (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), then sign in: aws configure, aws configure sso, or AWS_PROFILE"
}
need_sam() {
  need sam "pip install aws-sam-cli (docs/aws.md, \"What you need\")"
}
need_jq() {
  need jq "install it: apt-get install jq, brew install jq (https://jqlang.org)"
}

# The environment names samconfig.toml has sections for.
check_env() {
  case "$1" in
    dev | staging | prod) ;;
    *) die "unknown environment \"$1\": dev, staging or prod (samconfig.toml)" ;;
  esac
}

# The environment the chaos, load and outputs scripts talk to.
ORDER_KIT_ENV=${ORDER_KIT_ENV:-dev}

# toml_value SECTION KEY: a string value of samconfig.toml, e.g. toml_value dev.global.parameters stack_name.
toml_value() {
  awk -v sect="[$1]" -v key="$2" '
    $0 == sect { on = 1; next }
    /^\[/ { on = 0 }
    on && $0 ~ "^" key "[[:space:]]*=" {
      sub(/^[^=]*=[[:space:]]*"/, ""); sub(/"[[:space:]]*$/, ""); print; exit
    }' "$SAMCONFIG"
}

# stack_name ENV: the stack samconfig.toml deploys that environment as (order-kit-dev, ...).
stack_name() {
  local name
  name=$(toml_value "$1.global.parameters" stack_name)
  [ -n "$name" ] || die "no stack_name in [$1.global.parameters] of $SAMCONFIG"
  echo "$name"
}

# The region the AWS CLI will use, for messages.
current_region() {
  local r=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  [ -n "$r" ] || r=$(aws configure get region 2>/dev/null || true)
  echo "${r:-none set: aws configure set region ...}"
}

# output STACK KEY: one output of the deployed stack (ApiUrl, ChaosParameterName, ...).
output() {
  local value
  value=$(aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text) ||
    die "cannot read the outputs of stack $1: is it deployed (scripts/aws/deploy.sh), in this region ($(current_region)), with these credentials?"
  if [ -z "$value" ] || [ "$value" = None ]; then
    die "stack $1 has no output $2"
  fi
  echo "$value"
}

# env_output KEY: one output of ORDER_KIT_ENV's stack, for the scripts whose arguments all go
# to workshop; checks the environment name and the AWS CLI first. Run as $(env_output KEY):
# the explicit exits stop the substitution, where set -e does not reach.
env_output() {
  local stack
  check_env "$ORDER_KIT_ENV" || exit 1
  need_aws || exit 1
  stack=$(stack_name "$ORDER_KIT_ENV") || exit 1
  output "$stack" "$1"
}

# workshop ARGS...: the workshop CLI of this checkout, as the labs run it (set WORKSHOP_BIN to
# a built binary, e.g. target/debug/workshop, to skip cargo's freshness check).
workshop() {
  if [ -n "${WORKSHOP_BIN:-}" ]; then
    "$WORKSHOP_BIN" "$@"
  else
    need cargo "install Rust with rustup (https://rustup.rs)"
    (cd "$REPO_ROOT" && cargo run -q -p workshop -- "$@")
  fi
}
