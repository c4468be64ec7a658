#!/usr/bin/env bash
# Load benchmark for `iamwatch serve`: RATE events/s (default 5000) for SECONDS (60), each an
# EventBridge event in its own request (as an EventBridge API destination sends them), with
# CLIENTS (50) WebSocket clients listening. Prints accepted, lost, ingest → client latency and
# the server's peak RSS. Asserts nothing.
# Usage: bash bench/serve_load.sh [RATE] [SECONDS] [CLIENTS] [EVENTS_PER_REQUEST]
set -euo pipefail
cd "$(dirname "$0")/.."

rate=${1:-5000}; seconds=${2:-60}; clients=${3:-50}; per_request=${4:-1}
data="bench/data/ct-load"
if [ ! -d "$data" ]; then
    echo "generating 300,000 records ..." >&2
    python3 ../shared/tools/gen_cloudtrail.py --records 300000 --files 300 --seed 11 --gzip --out "$data" --jobs 2 >&2
fi
cargo build --release -q --bin iamwatch
cargo build --release -q -p iamwatch-server --example load

work=$(mktemp -d)
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
IAMWATCH_TOKEN=$token RUST_LOG=warn target/release/iamwatch serve --listen 127.0.0.1:0 --db "$work/load.db" 2> "$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$work/serve.log" && break
    sleep 0.1
done
url=$(sed -n 's/^iamwatch serve: listening on \(http:[^ ]*\)$/\1/p' "$work/serve.log")
echo "server $url (pid $server); $rate events/s for $seconds s, $clients live clients, $per_request event(s) per request"
target/release/examples/load "$url" "$token" "$data" "$rate" "$seconds" "$clients" "$per_request"
echo "server peak RSS     $(( $(awk '/VmHWM/ {print $2}' /proc/$server/status) / 1024 )) MB"
echo "server CPU          $(awk '{printf "%.1f s user, %.1f s system", $14/100, $15/100}' /proc/$server/stat)"
