#!/usr/bin/env bash
# Peak RSS and time of `iamwatch scan` on CloudTrail files larger than the bench's: 300,000
# generated records in 30 gzip files of 10,000 (14 MB of content each, past the 4 MB that are
# inflated whole) and in 60 files of 5,000 (7 MB each). A busy account's five-minute files are
# this large. Prints figures; asserts nothing. Usage: bash bench/large_files.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin iamwatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for files in 30 60; do
    data="bench/data/large-300000-$files"
    if [ ! -d "$data" ] || [ "$(ls "$data" | wc -l)" -ne "$files" ]; then
        rm -rf "$data"
        python3 ../shared/tools/gen_cloudtrail.py --records 300000 --files "$files" --seed 2 --gzip --out "$data" --jobs 2 >&2
    fi
    for round in 1 2 3; do
        rm -f "$work"/scan.db*
        sync
        /usr/bin/time -f "%e %M" -o "$work/time" target/release/iamwatch scan --db "$work/scan.db" \
            --dead-letter "$work/dl" --format jsonl "$data" > "$work/out" 2> /dev/null
        read -r seconds rss < "$work/time"
        printf '%2d files of %5d records, round %d: %5.2f s, peak RSS %6.1f MB, %d incidents\n' \
            "$files" $(( 300000 / files )) "$round" "$seconds" "$(echo "$rss / 1024" | bc -l)" "$(wc -l < "$work/out")"
    done
done
