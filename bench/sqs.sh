#!/usr/bin/env bash
# `iamwatch serve` draining an SQS queue of the moto server (the AWS API emulator) on this
# machine: MESSAGES (default 2000) EventBridge events, one a message, put in the queue before
# serve starts; prints how long serve took to read, store and delete them all, and its peak RSS.
# moto answers on the same two cores and spends CPU of its own, so this measures the queue
# path here, not SQS's speed. Asserts nothing.
# Usage: bash bench/sqs.sh [MESSAGES]   (needs moto_server and boto3)
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${1:-2000}
cargo build --release -q --bin iamwatch

work=$(mktemp -d)
moto=""
server=""
trap 'kill $moto $server 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/moto.sh
start_moto "$work"

# The seed events (every IAM family), each sent as an EventBridge event with an id of its own.
queue=$(python3 - "$messages" <<'EOF'
import json, sys, time, boto3
count = int(sys.argv[1])
sqs = boto3.client("sqs")
for _ in range(100):
    try:
        url = sqs.create_queue(QueueName="trail-events")["QueueUrl"]
        break
    except Exception:
        time.sleep(0.1)
records = [json.loads(line) for line in open("tests/fixtures/seed_events.jsonl") if line.strip()]
entries = []
for n in range(count):
    record = dict(records[n % len(records)], eventID=f"sqs-bench-{n}")
    event = {"version": "0", "id": f"eb-{n}", "detail-type": "AWS API Call via CloudTrail",
             "source": "aws.iam", "account": record.get("recipientAccountId", "111122223333"),
             "time": record["eventTime"], "region": record.get("awsRegion", "us-east-1"),
             "resources": [], "detail": record}
    entries.append({"Id": str(n % 10), "MessageBody": json.dumps(event)})
    if len(entries) == 10 or n == count - 1:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        entries = []
print(url)
EOF
)
# CPU seconds a process has used (user + system).
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
moto_before=$(cpu_of "$moto")
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '[sqs]\nqueues = ["%s"]\n' "$queue" > "$work/iamwatch.toml"
started=$(date +%s.%N)
IAMWATCH_TOKEN=$token RUST_LOG=warn target/release/iamwatch serve --listen 127.0.0.1:0 \
    --config "$work/iamwatch.toml" --db "$work/sqs.db" 2> "$work/serve.log" &
server=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/serve.log" && break
    sleep 0.1
done
url=$(sed -n 's/^iamwatch serve: listening on \(http:[^ ]*\)$/\1/p' "$work/serve.log")
metric() {
    curl -s -H "Authorization: Bearer $token" "$url/metrics" | awk -v name="$1" '$1 == name { print $2 }'
}
while [ "$(metric iamwatch_sqs_messages_deleted_total)" != "$messages" ]; do
    sleep 0.05
done
finished=$(date +%s.%N)
moto_after=$(cpu_of "$moto")
seconds=$(echo "$finished - $started" | bc -l)
peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$server/status")
printf '%s messages read, stored and deleted in %.2f s (%.0f messages/s, serve start-up included)\n' \
    "$messages" "$seconds" "$(echo "$messages / $seconds" | bc -l)"
printf 'received %s, failures %s, events %s; serve peak RSS %.1f MB\n' \
    "$(metric iamwatch_sqs_messages_received_total)" "$(metric iamwatch_sqs_failures_total)" \
    "$(metric iamwatch_events_total)" "$(echo "$peak / 1024" | bc -l)"
printf 'CPU meanwhile: serve %s s, moto %.2f s (moto, in Python, is the limit)\n' \
    "$(cpu_of "$server")" "$(echo "$moto_after - $moto_before" | bc -l)"
