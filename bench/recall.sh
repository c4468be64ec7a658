#!/usr/bin/env bash
# What recalling the stored incidents costs `serve` at its start: RECORDS generated records
# (default 1,000,000 in 1,000 gzip files, events of the last four days) scanned into a store,
# then `serve` started on it REPEAT times (default 3) with the recall on (`recall_days = 30`)
# and off (`recall_days = 0`): incidents recalled, the recall's own time (from serve's log),
# process start to listening, and peak RSS. Asserts nothing.
# Usage: [REPEAT=3] bash bench/recall.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}; repeat=${REPEAT:-3}
# Four days ago, on a 5-minute boundary: the generator's windows, inside the look-back.
start=$(python3 -c 'import time; t = int(time.time()) - 4 * 86400; print(time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(t - t % 300)))')
data="bench/data/ct-recall-$records-${start:0:10}"
if [ ! -d "$data" ]; then
    echo "generating $records records from $start ..." >&2
    python3 ../shared/tools/gen_cloudtrail.py --records "$records" --files $(( (records + 999) / 1000 )) \
        --seed 7 --gzip --start "$start" --out "$data" --jobs 2 >&2
fi
cargo build --release -q --bin iamwatch

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/iamwatch scan --format jsonl --db "$work/recall.db" "$data" > /dev/null 2> "$work/scan.log"
echo "store: $(tail -n 3 "$work/scan.log" | tr '\n' ' ')"
echo "database $(du -m "$work/recall.db" | cut -f1) MB"

# One start of serve on the store with `recall_days = $1`: prints the figures, then stops it.
one_start() {
    printf '[correlate]\nrecall_days = %s\n' "$1" > "$work/iamwatch.toml"
    local began ended
    began=$(date +%s%N)
    IAMWATCH_TOKEN=bench RUST_LOG=info target/release/iamwatch serve --listen 127.0.0.1:0 \
        --config "$work/iamwatch.toml" --db "$work/recall.db" 2> "$work/serve.log" &
    local server=$!
    for _ in $(seq 1200); do
        grep -q "listening on" "$work/serve.log" && break
        sleep 0.05
    done
    ended=$(date +%s%N)
    local recalled
    recalled=$(sed -n 's/.*the stateful detections recalled \([0-9]*\) stored incidents.* in \([0-9]*\) ms.*/\1 incidents in \2 ms/p' "$work/serve.log")
    printf 'recall_days=%-3s start to listening %5d ms, recall: %-26s peak RSS %4d MB\n' \
        "$1" $(( (ended - began) / 1000000 )) "${recalled:-none}" \
        $(( $(awk '/VmHWM/ {print $2}' /proc/$server/status) / 1024 ))
    kill "$server"; wait "$server" 2>/dev/null || true
}

for round in $(seq "$repeat"); do
    echo "round $round"
    one_start 30
    one_start 0
done
