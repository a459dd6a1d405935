# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared helpers for the stockade integration tests (TAP output).
#
# Environment:
#   STOCKADE   path to the stockade binary (required)
#   PROBE      path to the probe helper (required); shown inside at /probe
#   STOCKADE_TESTS_REQUIRE_ROOT=1   a skip for "not root" becomes a failure
#   TMPDIR     where the per-test temporary directory goes (default /tmp)
#   STOCKADE_EXPECT_BACKEND=v2|hybrid   the cgroup backend stockade must report
#              (walls.cgroup.backend); derived from the host when unset, see
#              expected_backend.  The VM stage (tests/vm) sets v2.
#   STOCKADE_TEST_SLACK_MS   milliseconds added to the wall-clock upper bounds
#              of the timing checks (default 0).  The VM stage sets it: under
#              qemu TCG every instruction is emulated, so stockade's own start
#              and teardown take several times longer than on hardware.
#
# Every test script sources this file, calls tap_begin, runs its checks and
# ends with done_testing (the plan is printed at the end, "1..N").

set -u
set -o pipefail

TAP_N=0
TAP_FAILED=0
BG_PIDS=()
T=""
CGROUP_BASELINE=""
EXPECT_BACKEND=""
SLACK_MS=0

# ---------------------------------------------------------------- TAP

diag() {
        local line
        while IFS= read -r line; do
                printf '# %s\n' "$line"
        done <<<"$*"
}

# diag_file FILE [MAX_LINES]: show the start of a file as TAP comments
diag_file() {
        local f=$1 max=${2:-20}
        if [[ -s $f ]]; then
                diag "--- ${f##*/}:"
                head -n "$max" -- "$f" | while IFS= read -r line; do printf '#   %s\n' "$line"; done
        fi
}

ok() {
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - %s\n' "$TAP_N" "$*"
}

not_ok() {
        TAP_N=$((TAP_N + 1))
        TAP_FAILED=$((TAP_FAILED + 1))
        printf 'not ok %d - %s\n' "$TAP_N" "$*"
}

skip() { # skip DESC REASON
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
}

# check DESC CMD [ARGS...]: one test point, passes when CMD succeeds
check() {
        local desc=$1
        shift
        if "$@"; then
                ok "$desc"
        else
                not_ok "$desc"
                return 1
        fi
}

# is GOT EXPECTED DESC
is() {
        if [[ $1 == "$2" ]]; then
                ok "$3"
        else
                not_ok "$3"
                diag "expected: '$2'"
                diag "     got: '$1'"
                return 1
        fi
}

# like GOT ERE DESC
like() {
        if [[ $1 =~ $2 ]]; then
                ok "$3"
        else
                not_ok "$3"
                diag "expected to match: /$2/"
                diag "               got: '$1'"
                return 1
        fi
}

# num_le GOT MAX DESC (integer or decimal numbers)
num_le() {
        if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
                ok "$3"
        else
                not_ok "$3"
                diag "expected a number <= $2, got '$1'"
                return 1
        fi
}

# num_ge GOT MIN DESC
num_ge() {
        if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; then
                ok "$3"
        else
                not_ok "$3"
                diag "expected a number >= $2, got '$1'"
                return 1
        fi
}

# lacks FILE ERE DESC: passes when no line of FILE matches ERE
lacks() {
        if grep -qE -- "$2" "$1" 2>/dev/null; then
                not_ok "$3"
                diag "unexpected line(s) in ${1##*/}: $(grep -E -- "$2" "$1" | head -n 3)"
                return 1
        fi
        ok "$3"
}

bail_out() {
        printf 'Bail out! %s\n' "$*"
        exit 99
}

done_testing() {
        printf '1..%d\n' "$TAP_N"
        if ((TAP_FAILED > 0)); then
                diag "$TAP_FAILED of $TAP_N test points failed"
                exit 1
        fi
        exit 0
}

# skip_all REASON: nothing can run here.  Under meson's TAP protocol a
# non-zero exit is an ERROR, so a skip is "1..0 # SKIP" with exit 0.  With
# STOCKADE_TESTS_REQUIRE_ROOT=1 a skip is a failure instead.
skip_all() {
        if [[ ${STOCKADE_TESTS_REQUIRE_ROOT:-0} == 1 ]]; then
                printf '1..1\nnot ok 1 - %s (STOCKADE_TESTS_REQUIRE_ROOT=1 forbids skipping)\n' "$*"
                exit 1
        fi
        printf '1..0 # SKIP %s\n' "$*"
        exit 0
}

# ---------------------------------------------------------------- setup

# marked_pids: processes carrying this test's marker variable (see sbx).
# One grep over every environ file, not one grep per process: under qemu TCG
# (tests/vm) each exec costs ~50 ms, and a loop over ~60 processes made every
# leftover check take seconds.
marked_pids() {
        local f
        [[ -n $T ]] || return 0
        while IFS= read -r f; do
                f=${f#/proc/}
                echo "${f%/environ}"
        done < <(grep -lzxF -- "STOCKADE_IT=$T" /proc/[0-9]*/environ 2>/dev/null)
}

_cleanup() {
        local p
        for p in "${BG_PIDS[@]}"; do
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
                remove_cgroups_of "$p"
        done
        # sandboxed processes this test started that outlived stockade
        for p in $(marked_pids); do
                kill -KILL "$p" 2>/dev/null
        done
        if [[ -n ${STOCKADE_BPF_DIR:-} && -d $STOCKADE_BPF_DIR ]]; then
                rm -rf -- "$STOCKADE_BPF_DIR"
        fi
        if [[ -n $T && -d $T ]]; then
                # Journal segments are append-only (FS_APPEND_FL) where the
                # filesystem allows it: lift that so they can be removed.
                chattr -R -a "$T" 2>/dev/null
                rm -rf --one-file-system -- "$T"
        fi
}

# tap_begin: checks the environment, makes the per-test directory $T
tap_begin() {
        if [[ $(id -u) != 0 ]]; then
                skip_all "stockade run needs root"
        fi
        [[ -n ${STOCKADE:-} ]] || bail_out "STOCKADE is not set"
        [[ -n ${PROBE:-} ]] || bail_out "PROBE is not set"
        [[ -x $STOCKADE ]] || bail_out "STOCKADE=$STOCKADE is not executable"
        [[ -x $PROBE ]] || bail_out "PROBE=$PROBE is not executable"
        command -v jq >/dev/null || bail_out "jq is needed"
        command -v findmnt >/dev/null || bail_out "findmnt (util-linux) is needed"

        # 0755: bind sources below $T must be reachable for uid 65534 inside
        T=$(mktemp -d "${TMPDIR:-/tmp}/stockade-it.XXXXXX") || bail_out "mktemp failed"
        chmod 0755 "$T"
        # Every run of this test journals here, never to the host's journal.
        export STOCKADE_JOURNAL=$T/journal
        # Runs record their shape by default: the programs are pinned once
        # per test, in a cache of its own removed at the end, so that no
        # run pays their load (and none outlives the test). Without bpffs
        # an empty value turns the cache off.
        export STOCKADE_BPF_DIR=
        if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) == bpf_fs ]]; then
                STOCKADE_BPF_DIR=/sys/fs/bpf/stockade-it-${T##*.}
        fi
        # shellcheck disable=SC2034 # for the test scripts
        EXPECT_BACKEND=$(expected_backend)
        SLACK_MS=${STOCKADE_TEST_SLACK_MS:-0}
        [[ $SLACK_MS =~ ^[0-9]+$ ]] || bail_out "STOCKADE_TEST_SLACK_MS=$SLACK_MS is not a number"
        CGROUP_BASELINE=$(leaked_cgroup_dirs)
        if [[ -n $CGROUP_BASELINE ]]; then
                diag "stockade cgroups leaked before this test began (not counted):"
                diag "$CGROUP_BASELINE"
        fi
        trap _cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
}

now_ms() {
        local ns
        ns=$(date +%s%N)
        echo $((ns / 1000000))
}

# jqget FILE EXPR: jq -r EXPR on FILE; "<nofile>" or "<badjson>" on trouble
jqget() {
        local f=$1 expr=$2 v
        if [[ ! -s $f ]]; then
                echo "<nofile>"
                return 1
        fi
        if ! v=$(jq -r "$expr" <"$f" 2>/dev/null); then
                echo "<badjson>"
                return 1
        fi
        printf '%s\n' "$v"
}

# kv FILE KEY: value of the first "KEY=value" line of a probe's output
kv() {
        local line
        while IFS= read -r line; do
                if [[ $line == "$2="* ]]; then
                        printf '%s\n' "${line#*=}"
                        return 0
                fi
        done <"$1"
        echo "<missing>"
        return 1
}

# ---------------------------------------------------------------- running

# Outer guard (seconds) around every stockade run, in case it hangs.
SBX_GUARD=${SBX_GUARD:-90}

# sbx NAME [RUN OPTIONS...] -- COMMAND...    (or SCRIPT [ARGS] for script mode)
#
# Runs: stockade run [--timeout 30s] --bind $PROBE:/probe --setenv STOCKADE_IT=$T
#       --result-json $T/NAME.json OPTIONS...
# --timeout 30s is added unless the caller gives --timeout.  The marker
# variable lets assert_no_leftovers find the sandbox's processes from the host.
# Sets: RC (exit status), ELAPSED_MS, OUT, ERR, J (files).
sbx() {
        local name=$1 a t0 t1
        local -a pre=()
        shift
        OUT=$T/$name.out
        ERR=$T/$name.err
        J=$T/$name.json
        rm -f -- "$OUT" "$ERR" "$J"
        pre=(--timeout 30s)
        for a in "$@"; do
                [[ $a == -- ]] && break
                if [[ $a == --timeout || $a == --timeout=* ]]; then
                        pre=()
                        break
                fi
        done
        pre+=(--bind "$PROBE:/probe" --setenv "STOCKADE_IT=$T" --result-json "$J")
        t0=$(now_ms)
        timeout -k 5 "$SBX_GUARD" "$STOCKADE" run "${pre[@]}" "$@" >"$OUT" 2>"$ERR" </dev/null
        RC=$?
        t1=$(now_ms)
        ELAPSED_MS=$((t1 - t0))
        if ((RC == 124)); then
                diag "stockade run did not end within ${SBX_GUARD}s (killed by the test's guard)"
        fi
        return 0
}

# show_run: stderr, stdout and JSON of the last run, as diagnostics
show_run() {
        diag "exit status $RC after ${ELAPSED_MS} ms"
        diag_file "$ERR" 10
        diag_file "$OUT" 20
        [[ -s $J ]] && diag "json: $(jq -c '{exit,error}' <"$J" 2>/dev/null || head -c 600 "$J")"
        return 0
}

# ---------------------------------------------------------------- leftovers

# caller_v2_dir: the caller's cgroup in the cgroup2 hierarchy (nothing when
# cgroup2 is not mounted)
caller_v2_dir() {
        local v2path mnt
        v2path=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        mnt=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
        if [[ -n $mnt && -n $v2path ]]; then
                echo "${mnt%/}$v2path"
        fi
}

# caller_v1_dir CONTROLLER: the caller's cgroup in the v1 hierarchy that
# carries CONTROLLER (nothing when it is not mounted as v1)
caller_v1_dir() {
        local ctl=$1 line path="" opts target
        while IFS= read -r line; do
                # id:controllers:path
                local ctls=${line#*:}
                ctls=${ctls%%:*}
                if [[ ,$ctls, == *",$ctl,"* ]]; then
                        path=${line#*:*:}
                        break
                fi
        done </proc/self/cgroup
        [[ -n $path ]] || return 0
        while read -r target opts; do
                if [[ ,$opts, == *",$ctl,"* ]]; then
                        echo "${target%/}$path"
                        break
                fi
        done < <(findmnt -rn -t cgroup -o TARGET,FS-OPTIONS)
}

# The cgroup directories stockade may create children of: the caller's cgroup
# in the cgroup2 hierarchy and in the v1 memory, cpu and pids hierarchies.
caller_cgroup_dirs() {
        local ctl
        caller_v2_dir
        for ctl in memory cpu pids; do
                caller_v1_dir "$ctl"
        done
}

# expected_backend: the walls.cgroup.backend stockade must report here.
# STOCKADE_EXPECT_BACKEND when set; otherwise pure v2 when the cgroup2 root
# offers the memory, cpu and pids controllers, else hybrid (v1 ceilings).
expected_backend() {
        local c ctls
        if [[ -n ${STOCKADE_EXPECT_BACKEND:-} ]]; then
                echo "$STOCKADE_EXPECT_BACKEND"
                return
        fi
        ctls=" $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null) "
        for c in memory cpu pids; do
                if [[ $ctls != *" $c "* ]]; then
                        echo hybrid
                        return
                fi
        done
        echo v2
}

# cgroup_lacks FILE: succeeds when this kernel has no cgroup interface file
# FILE (e.g. pids.peak, memory.peak) where stockade looks for it: in a group
# of the backend in use, below the caller's cgroup.  A throw-away group is
# made and removed to look.  A null usage field in the result is excused only
# when this succeeds.
cgroup_lacks() {
        local file=$1 ctl=${1%%.*} dir g r
        if [[ $(expected_backend) == v2 ]]; then
                dir=$(caller_v2_dir)
        else
                dir=$(caller_v1_dir "$ctl")
        fi
        [[ -n $dir ]] || return 1
        g=$dir/it-probe-$$
        mkdir "$g" 2>/dev/null || return 1 # cannot tell: excuse nothing
        [[ ! -e $g/$file ]]
        r=$?
        rmdir "$g"
        return "$r"
}

# stockade_cgroup_dirs: every stockade-<pid>-<n> directory below the caller's
# cgroups, one path a line
stockade_cgroup_dirs() {
        local d
        while IFS= read -r d; do
                [[ -d $d ]] || continue
                find "$d" -maxdepth 3 -type d -name 'stockade-*' 2>/dev/null
        done < <(caller_cgroup_dirs | sort -u)
}

# Leaked stockade cgroup directories: the supervisor pid in the name is dead
# and the directory still exists (stockade removes them before it exits).
# Directories of live supervisors (runs by others, concurrently) are not
# counted, nor those that already existed when this test began.
leaked_cgroup_dirs() {
        local d base pid
        while IFS= read -r d; do
                base=${d##*/}
                pid=${base#stockade-}
                pid=${pid%%-*}
                [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && continue
                [[ -d $d ]] || continue
                grep -qxF -- "$d" <<<"$CGROUP_BASELINE" && continue
                echo "$d"
        done < <(stockade_cgroup_dirs)
}

# leftovers: prints what a finished run left behind (nothing when clean)
# shape_links: how many BPF links of the observation programs exist, host
# wide (empty without bpftool)
shape_links() {
        local progs
        command -v bpftool >/dev/null || return 0
        progs=$(bpftool prog show -j 2>/dev/null | jq -c '[.[] | select(.name // "" | startswith("shape_")) | .id]')
        bpftool link show -j 2>/dev/null | jq --argjson p "${progs:-[]}" '[.[] | select(.prog_id as $i | $p | index($i))] | length'
}

leftovers() {
        local d f n
        while IFS= read -r d; do
                echo "cgroup dir $d"
        done < <(leaked_cgroup_dirs)
        # linked only while a supervisor that observes lives
        n=$(shape_links)
        [[ ${n:-0} == 0 ]] || echo "$n BPF links of the observation programs"
        findmnt -rn -o TARGET | grep -i stockade | sed 's/^/mount /'
        # processes that carry this test's marker variable (set by sbx)
        for f in $(marked_pids); do
                printf 'process %s %s\n' "$f" "$(tr '\0' ' ' <"/proc/$f/cmdline" 2>/dev/null)"
        done
}

# remove_cgroups_of PID: rmdir the (empty) cgroups of a stockade this test
# had to SIGKILL, so one failure does not leak into the following checks
remove_cgroups_of() {
        local d
        while IFS= read -r d; do
                [[ ${d##*/} == "stockade-$1-"* ]] || continue
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done < <(stockade_cgroup_dirs)
}

# assert_no_leftovers DESC: one test point
assert_no_leftovers() {
        local l
        # A check that looked nowhere must not pass: the cgroup dirs to
        # search have to be found first.
        if [[ -z $(caller_cgroup_dirs) ]]; then
                not_ok "nothing left behind: $*"
                diag "found no cgroup directory to check (is /proc, findmnt or /dev/fd missing?)"
                return 1
        fi
        l=$(leftovers)
        if [[ -z $l ]]; then
                ok "nothing left behind: $*"
        else
                not_ok "nothing left behind: $*"
                diag "$l"
                return 1
        fi
}

# The JSON exit block must agree with what stockade returned.
# expect_exit PREFIX STATUS CAUSE
expect_exit() {
        local p=$1 status=$2 cause=$3
        is "$RC" "$status" "$p: exit status $status" || show_run
        is "$(jqget "$J" .exit.cause)" "$cause" "$p: result cause $cause"
        is "$(jqget "$J" .exit.status)" "$RC" "$p: result exit.status equals the exit status"
}
