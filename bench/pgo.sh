#!/usr/bin/env bash
# Profile-guided build of iamwatch, and the plain release build against it on the bench set.
# Prints figures; asserts nothing. Usage: [PAIRS=N] bash bench/pgo.sh [RECORDS]
#
# The profile is trained on a trail of its own (another seed than the bench's data), so that the
# figures are not measured on what the build was trained on. Only the Rust code is profiled: the C
# libraries (libdeflate, SQLite, zstd, jemalloc) are built by `cc` without it.
# Needs rustup's llvm-profdata, which matches rustc's LLVM: `rustup component add llvm-tools`.
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
pairs=${PAIRS:-5}
data="bench/data/ct-${records}"
train="bench/data/train-200000"
profiles="target/pgo/profiles"
merged="target/pgo/merged.profdata"

profdata="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    echo "llvm-profdata not found at $profdata; run: rustup component add llvm-tools" >&2
    exit 1
fi
if [ ! -d "$data" ]; then
    echo "no bench data in $data; run bench/scan.sh first (it generates it)" >&2
    exit 1
fi
if [ ! -d "$train" ]; then
    python3 ../shared/tools/gen_cloudtrail.py --records 200000 --files 200 --seed 7 --gzip --out "$train" --jobs 2 >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Instrumented build, trained on a first scan, a re-scan (everything already stored) and the
#    shipped samples.
rm -rf "$profiles"
RUSTFLAGS="-Cprofile-generate=$PWD/$profiles" \
    cargo build --release -q --bin iamwatch --target-dir target/pgo/generate
instrumented=target/pgo/generate/release/iamwatch
for _ in first again; do
    "$instrumented" scan --db "$work/train.db" --dead-letter "$work/dl" --format jsonl "$train" > /dev/null 2>&1
done
"$instrumented" scan --db "$work/samples.db" --dead-letter "$work/dl" samples > /dev/null 2>&1
"$profdata" merge -o "$merged" "$profiles"

# 2. The optimised build, and the plain one beside it.
RUSTFLAGS="-Cprofile-use=$PWD/$merged" \
    cargo build --release -q --bin iamwatch --target-dir target/pgo/use
cargo build --release -q --bin iamwatch
plain=target/release/iamwatch
pgo=target/pgo/use/release/iamwatch

# 3. The same JSON lines (without their creation times), then alternating timed scans.
lines() { "$1" scan --jobs 1 --db "$work/lines-$2.db" --dead-letter "$work/dl" --format jsonl "$data" 2> /dev/null \
    | sed -E 's/,"created_at":[0-9]+,"updated_at":[0-9]+//' | md5sum | cut -d' ' -f1; }
if [ "$(lines "$plain" plain)" = "$(lines "$pgo" pgo)" ]; then
    echo "JSON lines: identical"
else
    echo "JSON lines: DIFFER"
fi
printf '%-6s %12s %12s %12s %12s\n' pair "plain s" "plain CPU" "PGO s" "PGO CPU"
for pair in $(seq "$pairs"); do
    figures=()
    for binary in "$plain" "$pgo"; do
        rm -f "$work"/scan.db*
        sync
        /usr/bin/time -f "%e %U %S" -o "$work/time" \
            "$binary" scan --db "$work/scan.db" --dead-letter "$work/dl" --format jsonl "$data" > /dev/null 2>&1
        read -r seconds user system < "$work/time"
        figures+=("$seconds" "$(echo "$user + $system" | bc -l)")
    done
    printf '%-6s %12.2f %12.2f %12.2f %12.2f\n' "$pair" "${figures[@]}"
done
echo "PGO binary: $pgo"
