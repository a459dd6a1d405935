#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the fuzzers in BUILDDIR (configuring BUILDDIR with clang, ASan and
# -Dfuzz=true when it is not a build dir yet), runs the profile fuzzer for
# SECONDS (default 60) on a temporary corpus seeded with profiles/*.yaml,
# then the DNS proxy fuzzer for DNS_SECONDS (default 30) on one seeded with
# tests/fuzz/dns-seeds/. Exits non-zero when libFuzzer finds a crash, a
# leak, a timeout or an out-of-memory; the input that triggered it is kept
# in BUILDDIR/fuzz-artifacts/.
#
# usage: tests/fuzz/run.sh BUILDDIR [SECONDS [DNS_SECONDS]]

set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=${1:?usage: $0 BUILDDIR [SECONDS [DNS_SECONDS]]}
seconds=${2:-60}
dns_seconds=${3:-30}

for s in "$seconds" "$dns_seconds"; do
  case $s in
    ''|*[!0-9]*) echo "$0: SECONDS must be a number, not '$s'" >&2; exit 2 ;;
  esac
done

if [ ! -f "$builddir/build.ninja" ]; then
  CC=clang meson setup "$builddir" "$srcdir" \
    -Dfuzz=true -Db_sanitize=address -Db_lundef=false -Dstatic-libs=false -Dtests=false
fi
ninja -C "$builddir" tests/fuzz/fuzz-profile tests/fuzz/fuzz-dns
fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-profile
dns_fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-dns
artifacts=$(cd "$builddir" && pwd)/fuzz-artifacts
mkdir -p "$artifacts"

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-profile.XXXXXX")
dns_corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-dns.XXXXXX")
trap 'rm -rf "$corpus" "$dns_corpus"' EXIT
cp "$srcdir"/profiles/*.yaml "$corpus"/
cp "$srcdir"/tests/fuzz/dns-seeds/* "$dns_corpus"/

# From inside the corpus, so that relative extends find the seeds.
cd "$corpus"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  "$fuzzer" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=65536 \
    -dict="$srcdir/tests/fuzz/profile.dict" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$corpus"

# Queries from a task and replies from upstream (fuzz-dns.c describes the
# input format; tests/fuzz/gen-dns-seeds.c writes the seeds).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  "$dns_fuzzer" \
    -max_total_time="$dns_seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=4096 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$dns_corpus"
