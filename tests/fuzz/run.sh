#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the profile fuzzer in BUILDDIR (configuring BUILDDIR with clang,
# ASan and -Dfuzz=true when it is not a build dir yet) and runs it for
# SECONDS (default 60) on a temporary corpus seeded with profiles/*.yaml.
# Exits non-zero when libFuzzer finds a crash, a leak, a timeout or an
# out-of-memory; the input that triggered it is kept in BUILDDIR/fuzz-artifacts/.
#
# usage: tests/fuzz/run.sh BUILDDIR [SECONDS]

set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=${1:?usage: $0 BUILDDIR [SECONDS]}
seconds=${2:-60}

case $seconds in
  ''|*[!0-9]*) echo "$0: SECONDS must be a number, not '$seconds'" >&2; exit 2 ;;
esac

if [ ! -f "$builddir/build.ninja" ]; then
  CC=clang meson setup "$builddir" "$srcdir" \
    -Dfuzz=true -Db_sanitize=address -Db_lundef=false -Dstatic-libs=false -Dtests=false
fi
ninja -C "$builddir" tests/fuzz/fuzz-profile
fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-profile
artifacts=$(cd "$builddir" && pwd)/fuzz-artifacts
mkdir -p "$artifacts"

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-profile.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cp "$srcdir"/profiles/*.yaml "$corpus"/

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
