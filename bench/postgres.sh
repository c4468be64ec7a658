#!/usr/bin/env bash
# `iamwatch scan --db postgres://…` on the bench's 1,000,000 generated records (1,000 gzip
# files), beside the same scan into SQLite, then a re-scan and two listings of each store.
# PostgreSQL is this machine's server (IAMWATCH_TEST_POSTGRES, by default
# postgres://postgres@127.0.0.1:5432/test), on the same two cores: its backend's CPU is counted
# apart (the postgres processes' ticks during the scan). Prints figures; asserts nothing.
# Usage: bash bench/postgres.sh   (needs psql)
set -euo pipefail
cd "$(dirname "$0")/.."

data=bench/data/ct-1000000
if [ ! -d "$data" ] || [ "$(ls "$data" | wc -l)" -ne 1000 ]; then
    echo "run bench/scan.sh first (it generates $data)" >&2
    exit 1
fi
cargo build --release -q --bin iamwatch

base=${IAMWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
schema="iamwatch_bench_$$"
work=$(mktemp -d)
trap 'psql -q "$base" -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null; rm -rf "$work"' EXIT
psql -q "$base" -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
url="$base?options=-c%20search_path%3D$schema"

# CPU ticks (user + system) of every process named postgres, and of the children they reaped:
# the server's side of the work, the connections that ended meanwhile included.
postgres_ticks() {
    local total=0
    for pid in $(pgrep -x postgres || true); do
        # Fields 14 to 17 of /proc/PID/stat (utime, stime, cutime, cstime), after the command
        # name in parentheses.
        ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$(( total + ticks ))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
measure() { # label, then the command: prints seconds, iamwatch's CPU, PostgreSQL's CPU, peak RSS
    local label=$1; shift
    sync
    local before
    before=$(postgres_ticks)
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2> "$work/err"
    local after
    after=$(postgres_ticks)
    read -r seconds user system rss < "$work/time"
    printf '%-44s %8.2f s %7.2f s CPU %7.2f s server CPU %7.1f MB  %s lines\n' "$label" "$seconds" \
        "$(echo "$user + $system" | bc -l)" "$(echo "($after - $before) / $hz" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)" "$(wc -l < "$work/out")"
}

scan=(target/release/iamwatch scan --dead-letter "$work/dl" --format jsonl --db)
measure "scan into SQLite (fresh)" "${scan[@]}" "$work/scan.db" "$data"
measure "scan into PostgreSQL (fresh schema)" "${scan[@]}" "$url" "$data"
measure "re-scan, SQLite (all already stored)" "${scan[@]}" "$work/scan.db" "$data"
measure "re-scan, PostgreSQL (all already stored)" "${scan[@]}" "$url" "$data"
psql -q "$base" -c "VACUUM ANALYZE $schema.incidents"
echo "PostgreSQL: $(psql -At "$base" -c "SELECT pg_size_pretty(pg_total_relation_size('$schema.incidents'))") for the incidents table and its indexes; SQLite: $(du -h "$work/scan.db" | cut -f1)"
for db in "$work/scan.db" "$url"; do
    kind=SQLite; [ "$db" = "$url" ] && kind=PostgreSQL
    measure "list --status NEW --limit 100, $kind" target/release/iamwatch incidents list --db "$db" --status NEW --limit 100 --format jsonl
    measure "list --text (in no incident), $kind" target/release/iamwatch incidents list --db "$db" --text no-such-words --format jsonl
    measure "list --all (every incident), $kind" target/release/iamwatch incidents list --db "$db" --all --format jsonl
done
