#!/usr/bin/env bash
# A first look at a deployed stack: its outputs, its health, and three orders created and
# polled until the processor has given each its final status.
#
#   scripts/aws/demo.sh [ENV]
#
#   ENV   dev (the default), staging or prod
#
# The orders: one to be CONFIRMED, one with 11 lines (PENDING_REVIEW), one over 10,000
# (PENDING_APPROVAL). Each carries an x-correlation-id (demo-<time>-N) to find in the logs.
source "$(dirname "$0")/lib.sh"

case "${1:-}" in -h | --help) usage 0 ;; esac
env=${1:-$ORDER_KIT_ENV}
check_env "$env"
need_aws
need_jq
need curl "install curl"
stack=$(stack_name "$env")

echo "== outputs of $stack"
aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output table
api=$(output "$stack" ApiUrl)

echo "== GET $api/health"
curl -s "$api/health" | jq -c .

lines11=$(jq -cn '[range(11) | {sku: "SKU-\(.)", qty: 1, price: 1.00}]')
bodies=(
  '{"customerName": "Ada Lovelace", "items": [{"sku": "BOOK-42", "qty": 3, "price": 0.10}, {"sku": "PEN-7", "qty": 1, "price": 0.20}]}'
  "{\"customerName\": \"Grace Hopper\", \"items\": $lines11}"
  '{"customerName": "Katherine Johnson", "items": [{"sku": "ROCKET-1", "qty": 1, "price": 12000.00}]}'
)
run=demo-$(date +%s)
ids=()
n=0
for body in "${bodies[@]}"; do
  n=$((n + 1))
  reply=$(curl -s -w '\n%{http_code}' -X POST "$api/orders" \
    -H 'content-type: application/json' -H "x-correlation-id: $run-$n" -d "$body")
  code=$(echo "$reply" | tail -n 1)
  order=$(echo "$reply" | sed '$d')
  [ "$code" = 201 ] || die "POST /orders answered $code: $order"
  id=$(echo "$order" | jq -r .id)
  ids+=("$id")
  echo "== created $id ($run-$n): $(echo "$order" | jq -r '"\(.status), total \(.total), \(.items | length) line(s)"')"
done

echo "== polling until each order leaves PENDING (at most 30 s)"
for id in "${ids[@]}"; do
  status=PENDING
  for _ in $(seq 1 30); do
    status=$(curl -s "$api/orders/$id" | jq -r .status)
    [ "$status" != PENDING ] && break
    sleep 1
  done
  echo "   $id  $status"
done
echo "== find them in the logs: correlation ids $run-1 .. $run-$n"
