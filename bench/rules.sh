#!/usr/bin/env bash
# Detection cost with 10 vs 500 rules on the same 1,000,000 records (one core, nothing stored).
# Prints figures; asserts nothing. Usage: bash bench/rules.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=bench/data/ct-1000000
if [ ! -d "$data" ]; then
    python3 ../shared/tools/gen_cloudtrail.py --records 1000000 --files 1000 --seed 1 --gzip --out "$data" --jobs 2 >&2
fi
cargo build --release -q -p iamwatch-pipeline --example rule_scaling
target/release/examples/rule_scaling "$data" ../shared/corpus
