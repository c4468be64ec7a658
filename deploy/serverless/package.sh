#!/usr/bin/env bash
# Packages the function for template.yaml: the iamwatch binary as `bootstrap` (what Lambda's
# provided.al2023 runtime starts), an iamwatch.toml and a GeoIP database when given, in one zip.
#
#   bash deploy/serverless/package.sh [--config iamwatch.toml] [--geoip GeoLite2-Country.mmdb] \
#       [--out iamwatch-lambda.zip]
#
# The GeoIP database is packaged as geoip.mmdb; the packaged config names it with
# `geoip = "/var/task/geoip.mmdb"` (package.sh says so when the config does not).
#
# Builds `cargo build --release` unless IAMWATCH_BINARY names a binary already built. Lambda's
# Amazon Linux 2023 has glibc 2.34: a binary needing a newer glibc symbol is refused here,
# naming it, rather than failing at its first invocation (build on an older distribution, or
# with `cargo lambda build --release`, which links against 2.34).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
config=""
geoip=""
out="iamwatch-lambda.zip"
while [ $# -gt 0 ]; do
    case "$1" in
        --config) config="$2"; shift 2 ;;
        --geoip) geoip="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
binary="${IAMWATCH_BINARY:-}"
if [ -z "$binary" ]; then
    (cd "$root" && cargo build --release --locked --bin iamwatch)
    binary="$root/target/release/iamwatch"
fi
if [ ! -x "$binary" ]; then
    echo "package.sh: $binary is not an executable" >&2
    exit 1
fi
newest_glibc="$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"
if [ -n "$newest_glibc" ] && [ "$(printf '%s\n2.34\n' "$newest_glibc" | sort -V | tail -1)" != "2.34" ]; then
    echo "package.sh: $binary needs glibc $newest_glibc; Lambda's provided.al2023 has 2.34" >&2
    exit 1
fi
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp "$binary" "$staging/bootstrap"
# The release build keeps line tables for profiling (most of its size); a function does not
# need them: a smaller package starts faster.
strip --strip-debug "$staging/bootstrap"
chmod 755 "$staging/bootstrap"
members=(bootstrap)
if [ -n "$config" ]; then
    cp "$config" "$staging/iamwatch.toml"
    members+=(iamwatch.toml)
fi
if [ -n "$geoip" ]; then
    cp "$geoip" "$staging/geoip.mmdb"
    members+=(geoip.mmdb)
fi
case "$out" in /*) target="$out" ;; *) target="$PWD/$out" ;; esac
rm -f "$target"
# Python's zipfile keeps the files' modes: bootstrap stays executable.
(cd "$staging" && python3 -m zipfile -c "$target" "${members[@]}")
echo "package.sh: $target (bootstrap, glibc ${newest_glibc:-none} needed${config:+, iamwatch.toml}${geoip:+, geoip.mmdb})"
if [ -n "$geoip" ] && ! grep -qs '^geoip *= *"/var/task/geoip.mmdb"' "$staging/iamwatch.toml"; then
    echo "  the function reads geoip.mmdb once its config says geoip = \"/var/task/geoip.mmdb\"" >&2
fi
if [ -n "$config" ]; then
    echo "  deploy with the parameter ConfigFile=/var/task/iamwatch.toml"
fi
