#!/usr/bin/env bash
# Deletes one environment's stack and everything in it (orders, queues, logs, alarms,
# dashboards, the chaos parameter, the secret) with `sam delete`, and the build artifacts
# SAM uploaded for it.
#
#   scripts/aws/cleanup.sh [ENV] [--yes]
#
#   ENV    dev (the default), staging or prod
#   --yes  do not ask for confirmation
#
# prod's table has deletion protection: the delete fails until you turn it off. The SAM CLI's
# own bucket stack (aws-sam-cli-managed-default), shared by every SAM app of the account and
# region, is left in place.
source "$(dirname "$0")/lib.sh"

env=dev
yes=0
for arg in "$@"; do
  case "$arg" in
    --yes | -y) yes=1 ;;
    -h | --help) usage 0 ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) env=$arg ;;
  esac
done
check_env "$env"
need_sam
need_aws
stack=$(stack_name "$env")
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
[ -n "$region" ] || region=$(aws configure get region 2>/dev/null || true)

if ! aws cloudformation describe-stacks --stack-name "$stack" >/dev/null 2>&1; then
  echo "cleanup.sh: stack $stack does not exist${region:+ in $region}: nothing to delete"
  exit 0
fi
if [ "$yes" != 1 ]; then
  [ -t 0 ] || die "not a terminal: pass --yes to delete $stack without a question"
  printf 'Delete stack %s%s and everything in it (orders, queues, logs)? Type its name to confirm: ' \
    "$stack" "${region:+ in $region}"
  read -r answer
  [ "$answer" = "$stack" ] || die "not confirmed; nothing deleted"
fi
cd "$REPO_ROOT"
sam delete --config-env "$env" --stack-name "$stack" --no-prompts ${region:+--region "$region"}
echo "== $stack deleted. Left behind, if you want them gone too:"
echo "   - the SAM CLI bucket stack aws-sam-cli-managed-default (shared by all SAM apps here)"
echo "   - any log group Lambda recreated after the delete:"
echo "     aws logs describe-log-groups --log-group-name-prefix /aws/lambda/$stack"
