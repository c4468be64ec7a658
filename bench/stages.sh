#!/usr/bin/env bash
# Where a scan's time goes, stage by stage, on one core (figures only; asserts nothing).
# Usage: bash bench/stages.sh [FILES]   (files of the 1,000,000-record set bench/scan.sh makes)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100}
data="bench/data/ct-1000000"
if [ ! -d "$data" ]; then
    echo "run bench/scan.sh first: it generates $data" >&2
    exit 1
fi
cargo build --release -q -p iamwatch-pipeline --example stage_costs
target/release/examples/stage_costs "$data" "$files"
