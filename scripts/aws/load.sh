#!/usr/bin/env bash
# Sends load to the deployed stack's API: `workshop load --url <ApiUrl output>`. Every argument
# goes to `workshop load` (--rate, --duration, --concurrency, --mix, --json, --quiet).
#
#   scripts/aws/load.sh --rate 20 --duration 60s
#   scripts/aws/load.sh --rate 5 --duration 4m --mix create=1
#
# Mind the stage's throttling (ApiThrottlingRateLimit 25 req/s, burst 50 in dev): above it API
# Gateway answers 429 before any Lambda runs. Every request is billed (a few cents per
# thousand orders; docs/aws.md, "What it costs"). The stack is ORDER_KIT_ENV's (dev by default).
source "$(dirname "$0")/lib.sh"

case "${1:-}" in -h | --help) usage 0 ;; esac
api=$(env_output ApiUrl)
workshop load --url "$api" "$@"
