#!/usr/bin/env bash
# `iamwatch scan s3://…` on the bench's 1,000,000 generated records (1,000 gzip files) served by
# the moto server (the AWS API emulator) on this machine, beside the same scan of the local
# files. Prints figures; asserts nothing. moto runs on the same cores and spends CPU of its own
# serving the objects, so this measures the S3 path's overhead here, not S3's speed.
# Usage: bash bench/s3.sh   (needs moto_server and the aws CLI)
set -euo pipefail
cd "$(dirname "$0")/.."

data=bench/data/ct-1000000
if [ ! -d "$data" ] || [ "$(ls "$data" | wc -l)" -ne 1000 ]; then
    echo "run bench/scan.sh first (it generates $data)" >&2
    exit 1
fi
cargo build --release -q --bin iamwatch

work=$(mktemp -d)
moto=""
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
source bench/moto.sh
start_moto "$work"
for _ in $(seq 100); do
    if aws s3 mb s3://bench > /dev/null 2>&1; then break; fi
    sleep 0.1
done
aws s3 cp --recursive --quiet "$data" s3://bench/AWSLogs/

measure() { # label, then the command: prints "label seconds cpu_seconds peak_rss_MB"
    local label=$1; shift
    rm -f "$work"/scan.db*
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err"
    read -r seconds user system rss < "$work/time"
    printf '%-36s %8.2f s %8.2f s CPU %7.1f MB  %s incidents\n' "$label" "$seconds" \
        "$(echo "$user + $system" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(wc -l < "$work/out")"
}
for round in 1 2 3; do
    echo "round $round"
    measure "  scan of the local files" target/release/iamwatch scan --db "$work/scan.db" --dead-letter "$work/dl" --format jsonl "$data"
    measure "  scan s3://bench/AWSLogs/ (moto)" target/release/iamwatch scan --db "$work/scan.db" --dead-letter "$work/dl" --format jsonl s3://bench/AWSLogs/
done
