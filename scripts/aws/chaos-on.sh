#!/usr/bin/env bash
# Starts a chaos experiment on the deployed stack: `workshop chaos on --aws` with the stack's
# ChaosParameterName output. Every argument goes to `workshop chaos on`.
#
#   scripts/aws/chaos-on.sh --processor-failure-rate 1 --for 10m --hypothesis "..."
#   scripts/aws/chaos-on.sh --poison-sku BOOK-42
#   scripts/aws/chaos-on.sh --help-faults      (workshop chaos on --help)
#
# The stack must be deployed armed (scripts/aws/deploy.sh --chaos-armed); the functions pick
# the override up within CHAOS_CACHE_SECONDS (5 s). It expires by itself (--for, default 15m);
# scripts/aws/chaos-off.sh ends it now. The stack is ORDER_KIT_ENV's (dev by default).
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
  -h | --help) usage 0 ;;
  --help-faults) workshop chaos on --help; exit 0 ;;
esac
parameter=$(env_output ChaosParameterName)
workshop chaos on --aws --parameter "$parameter" "$@"
