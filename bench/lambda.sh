#!/usr/bin/env bash
# The serverless function (`iamwatch lambda`, started as `bootstrap`) on this machine: its cold
# start (process start to its first request for work: the rule pack compiled, the AWS clients
# made, the table checked) and the time of each invocation (an EventBridge event of the seed fixture → detection →
# DynamoDB), against a Lambda runtime API served by bench/lambda_runtime.py and DynamoDB in the
# moto server. moto shares the two cores and answers far slower than DynamoDB, so invocation
# times are the path's here, not Lambda's. Asserts nothing.
# Usage: bash bench/lambda.sh [INVOCATIONS]   (needs moto_server)
set -euo pipefail
cd "$(dirname "$0")/.."

invocations=${1:-50}
cargo build --release -q --bin iamwatch

work=$(mktemp -d)
moto=""
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/moto.sh
start_moto "$work"
export IAMWATCH_DB=dynamodb://iamwatch-bench IAMWATCH_TOKEN=bench-token
# The table made first (by a scan of the fixture), as the template makes it: the cold start is
# the function's own.
target/release/iamwatch scan --db "$IAMWATCH_DB" tests/fixtures/seed_events.jsonl > /dev/null 2>&1
ln -s "$PWD/target/release/iamwatch" "$work/bootstrap"
python3 bench/lambda_runtime.py "$work/bootstrap" "$invocations"
