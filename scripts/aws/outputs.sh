#!/usr/bin/env bash
# Prints the deployed stack's outputs, or the value of one.
#
#   scripts/aws/outputs.sh [KEY]
#
#   KEY   ApiUrl, OrdersTableName, OrdersQueueUrl, OrdersDlqUrl, OrdersDlqArn,
#         PageTokenSecretArn, ChaosParameterName, OperationsDashboardUrl,
#         BusinessDashboardUrl, AlarmTopicArn; without it, every output as a table
#
# The stack is ORDER_KIT_ENV's (dev by default: order-kit-dev; see samconfig.toml), e.g.
#   API=$(scripts/aws/outputs.sh ApiUrl)
#   ORDER_KIT_ENV=staging scripts/aws/outputs.sh
source "$(dirname "$0")/lib.sh"

case "${1:-}" in -h | --help) usage 0 ;; esac
[ $# -le 1 ] || usage 2
check_env "$ORDER_KIT_ENV"
need_aws
stack=$(stack_name "$ORDER_KIT_ENV")
if [ $# -eq 1 ]; then
  output "$stack" "$1"
else
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
fi
