#!/usr/bin/env bash
# Whole-scan benchmark on 1,000,000 generated CloudTrail records (gzipped, 1,000 files).
# Prints figures; asserts nothing. Usage: bash bench/scan.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
files=$(( records / 1000 ))
data="bench/data/ct-${records}"
if [ ! -d "$data" ] || [ "$(ls "$data" | wc -l)" -ne "$files" ]; then
    rm -rf "$data"
    echo "generating $records records in $files files ..." >&2
    python3 ../shared/tools/gen_cloudtrail.py --records "$records" --files "$files" --seed 1 --gzip --out "$data" --jobs 2 >&2
fi
cargo build --release -q --bin iamwatch
cargo build --release -q -p iamwatch-sources --example naive_value_parse

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() { # label, then the command; prints "label seconds peak_rss_kb"
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err"
    read -r seconds rss < "$work/time"
    echo "$label $seconds $rss"
}

gz_bytes=$(du -sb "$data" | cut -f1)
echo "input: $records records, $files files, $(( gz_bytes / 1048576 )) MiB gzipped"
echo
printf '%-44s %10s %14s %12s\n' "run" "seconds" "records/s" "peak RSS"
row() { printf '%-44s %10.2f %14.0f %9.1f MB\n' "$1" "$2" "$(echo "$records / $2" | bc -l)" "$(echo "$3 / 1024" | bc -l)"; }

read -r _ seconds rss < <(measure scan target/release/iamwatch scan --db "$work/scan.db" --dead-letter "$work/dl" --format jsonl "$data")
incidents=$(wc -l < "$work/out")
row "iamwatch scan (2 cores, all rules, stored)" "$seconds" "$rss"
scan_seconds=$seconds

read -r _ seconds rss < <(measure scan1 target/release/iamwatch scan --jobs 1 --db "$work/scan1.db" --dead-letter "$work/dl" --format jsonl "$data")
row "iamwatch scan --jobs 1" "$seconds" "$rss"

read -r _ seconds rss < <(measure rescan target/release/iamwatch scan --db "$work/scan.db" --dead-letter "$work/dl" --format jsonl "$data")
row "iamwatch re-scan (all already stored)" "$seconds" "$rss"

# One stream on stdin, no file boundaries: memory must stay flat whatever the size.
read -r _ seconds rss < <(measure stdin bash -c "zcat $data/*.json.gz | target/release/iamwatch scan --db $work/stdin.db --dead-letter $work/dl --format jsonl -")
row "zcat | iamwatch scan - (1.4 GB on stdin)" "$seconds" "$rss"

# The same records as one 1.4 GB JSON file: a single input, its records spread over the cores.
zcat "$data"/*.json.gz > "$work/day.json"
read -r _ seconds rss < <(measure onefile target/release/iamwatch scan --db "$work/onefile.db" --dead-letter "$work/dl" --format jsonl "$work/day.json")
row "iamwatch scan (one 1.4 GB JSON file)" "$seconds" "$rss"
rm -f "$work/day.json"

read -r _ seconds rss < <(measure naive target/release/examples/naive_value_parse "$data")
row "baseline: gunzip + serde_json::Value (1 core)" "$seconds" "$rss"
value_seconds=$seconds

# The Python loops are slow: time a tenth of the files and scale.
python_files=$(( files / 10 ))
read -r _ seconds rss < <(measure python python3 bench/python_loop.py "$data" "$python_files")
python_minimal_seconds=$(echo "$seconds * 10" | bc -l)
row "baseline: Python filter-only loop (x10 of 1/10)" "$python_minimal_seconds" "$rss"
read -r _ seconds rss < <(measure python python3 bench/python_seed_loop.py "$data" "$python_files")
python_seconds=$(echo "$seconds * 10" | bc -l)
row "baseline: Python seed-style loop (x10 of 1/10)" "$python_seconds" "$rss"

echo
echo "incidents: $incidents"
printf 'scan vs Value parse: %.1fx   vs Python seed-style loop: %.1fx   vs Python filter-only loop: %.1fx\n' \
    "$(echo "$value_seconds / $scan_seconds" | bc -l)" "$(echo "$python_seconds / $scan_seconds" | bc -l)" \
    "$(echo "$python_minimal_seconds / $scan_seconds" | bc -l)"
