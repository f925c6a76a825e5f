#!/usr/bin/env bash
# The kill switch on the deployed stack: `workshop chaos off --aws` with the stack's
# ChaosParameterName output. Every argument goes to `workshop chaos off` (e.g. --json).
#
#   scripts/aws/chaos-off.sh
#
# No fault (deploy-time CHAOS_* flags included) is injected until the next chaos-on.sh; the
# running experiment is closed in the journal (`workshop chaos journal --aws --parameter ...`)
# with its steady-state verdict from CloudWatch's alarms. The stack is ORDER_KIT_ENV's (dev by
# default).
source "$(dirname "$0")/lib.sh"

case "${1:-}" in -h | --help) usage 0 ;; esac
parameter=$(env_output ChaosParameterName)
workshop chaos off --aws --parameter "$parameter" "$@"
