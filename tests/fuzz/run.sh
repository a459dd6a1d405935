#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the fuzzers in BUILDDIR (configuring BUILDDIR with clang, ASan and
# -Dfuzz=true when it is not a build dir yet), runs the profile fuzzer for
# SECONDS (default 60) on a temporary corpus seeded with profiles/*.yaml,
# then the DNS proxy fuzzer for DNS_SECONDS (default 30) on one seeded with
# tests/fuzz/dns-seeds/, then stockaded's socket and "run" decoder
# (fuzz-proto.c) for PROTO_SECONDS (default 20) on a few frames written
# below. Exits non-zero when libFuzzer finds a crash, a
# leak, a timeout or an out-of-memory; the input that triggered it is kept
# in BUILDDIR/fuzz-artifacts/.
#
# usage: tests/fuzz/run.sh BUILDDIR [SECONDS [DNS_SECONDS [PROTO_SECONDS]]]

set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=${1:?usage: $0 BUILDDIR [SECONDS [DNS_SECONDS [PROTO_SECONDS]]]}
seconds=${2:-60}
dns_seconds=${3:-30}
proto_seconds=${4:-20}

for s in "$seconds" "$dns_seconds" "$proto_seconds"; do
  case $s in
    ''|*[!0-9]*) echo "$0: SECONDS must be a number, not '$s'" >&2; exit 2 ;;
  esac
done

if [ ! -f "$builddir/build.ninja" ]; then
  CC=clang meson setup "$builddir" "$srcdir" \
    -Dfuzz=true -Db_sanitize=address -Db_lundef=false -Dstatic-libs=false -Dtests=false
fi
ninja -C "$builddir" tests/fuzz/fuzz-profile tests/fuzz/fuzz-dns tests/fuzz/fuzz-proto
fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-profile
dns_fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-dns
proto_fuzzer=$(cd "$builddir" && pwd)/tests/fuzz/fuzz-proto
artifacts=$(cd "$builddir" && pwd)/fuzz-artifacts
mkdir -p "$artifacts"

corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-profile.XXXXXX")
dns_corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-dns.XXXXXX")
proto_corpus=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-proto.XXXXXX")
trap 'rm -rf "$corpus" "$dns_corpus" "$proto_corpus"' EXIT
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

# Frames as a client writes them: a 4-byte big-endian length, then JSON.
frame() {
  local n=${#1}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"
  printf '%s' "$1"
}
frame '{"v":1,"type":"run","argv":["/bin/true"],"request_id":"r"}' >"$proto_corpus/run-min"
frame '{"v":1,"type":"run","argv":["/bin/sh","/task/job.sh","a"],"request_id":"req-1","profile":"python","env":{"HOME":"/root"},"cwd":"/tmp","task_class":"batch","code_origin":"user","attempt":2,"retry_of":"req-0","script":{"path":"/home/u/job.sh","name":"job.sh","data":"ZWNobyBoaQo=","sha256":"ab08508fdf5ca4da5c4995987bc41c56c048aaa5eeb046417ae4049b7d40286e"},"limits":{"memory":67108864,"cpus":0.5,"pids":20,"timeout_us":1000000,"cpu_time_us":500000,"tmpfs":8388608,"output":1048576},"binds":[{"dest":"/data/f","mode":"ro","fd_index":1},{"dest":"/data/d","mode":"rw","fd_index":0}],"workdir":null,"pass_env":["TERM"],"set_env":["A=b"],"verbose":true}' >"$proto_corpus/run-full"
{
  frame '{"v":1,"type":"signal","signo":2}'
  frame '{"v":1,"type":"run","argv":["x"],"request_id":"a","workdir":{"path":"/w","fd_index":0}}'
} >"$proto_corpus/two-frames"

# Bytes through a socketpair into the frame reader, then the "run"
# decoder (fuzz-proto.c); frames are up to 4 MiB, the inputs smaller.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  "$proto_fuzzer" \
    -max_total_time="$proto_seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=65536 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$proto_corpus"
