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
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_EC2_METADATA_DISABLED=true
export IAMWATCH_DB=dynamodb://iamwatch-bench IAMWATCH_TOKEN=bench-token
# The table made first (by a scan of the fixture), as the template makes it: the cold start is
# the function's own.
target/release/iamwatch scan --db "$IAMWATCH_DB" tests/fixtures/seed_events.jsonl > /dev/null 2>&1
ln -s "$PWD/target/release/iamwatch" "$work/bootstrap"
python3 bench/lambda_runtime.py "$work/bootstrap" "$invocations"
