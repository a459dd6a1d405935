#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage 2 of the test VM: PID 1 after switch_root, run by the HOST's bash from
# the read-only share of the source tree (see init).  Runs the integration
# scripts named in VM_TESTS, unchanged, against the host-built stockade and
# probe, on the guest's pure cgroup v2 kernel.
#
# Output: everything goes to the console (ttyS0, the stage's live log); the
# TAP of each script also goes to ttyS1, the results channel that run.sh
# parses (the kernel never writes there, so no console message can split a
# TAP line), framed as
#
#   VMTEST: BEGIN test-limits.sh
#   ...TAP...
#   VMTEST: END test-limits.sh rc=0 secs=21.4
#   VMTEST: LEFTOVERS none
#   VMTEST: DONE rc=0 uptime=30.1
#
# and the verdict goes to qemu through isa-debug-exit (vmexit).
set -u
# shellcheck source=/dev/null
. /run/vm/vm.conf

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp
export STOCKADE=$VM_BUILD/helper/stockade PROBE=$VM_BUILD/tests/helpers/probe STOCKADED=$VM_BUILD/supervisor/stockaded
# every exec is emulated here: test-daemon.sh runs a smaller burst
export STOCKADE_TEST_BURST=${VM_TEST_BURST:-24}
export STOCKADE_TESTS_REQUIRE_ROOT=1 STOCKADE_EXPECT_BACKEND=v2
export STOCKADE_TEST_SLACK_MS=${VM_SLACK_MS:-0}

up() { cut -d' ' -f1 /proc/uptime; }
exec 3>/dev/ttyS1
stty -F /dev/ttyS1 raw -echo 2>/dev/null
res() { printf '%s\n' "$*" >&3; printf '%s\n' "$*"; }

finish() {
        trap - EXIT
        res "VMTEST: DONE rc=$1 uptime=$(up)"
        exec 3>&-
        /run/vm/vmexit "$1"
        echo o >/proc/sysrq-trigger # no isa-debug-exit device: power off
        sleep 10
}
# PID 1 must never simply exit (that panics the kernel); report instead
trap 'finish 1' EXIT

echo "VMTEST: stage 2 at $(up)s: $(bash --version | head -n 1)"
echo "VMTEST: /proc/self/cgroup: $(tr '\n' ' ' </proc/self/cgroup)"
echo "VMTEST: cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "VMTEST: cgroup2 mount: $(findmnt -rn -o TARGET,FSTYPE,OPTIONS /sys/fs/cgroup)"

rc=0
cd /tmp || finish 1
for t in $VM_TESTS; do
        res "VMTEST: BEGIN $t"
        t0=$(date +%s%N)
        script=$VM_REPO/tests/integration/$t
        [[ $t == /* ]] && script=$t
        timeout -k 5 "${VM_TEST_TIMEOUT:-90}" bash "$script" </dev/null |
                while IFS= read -r line; do res "$line"; done
        trc=${PIPESTATUS[0]}
        t1=$(date +%s%N)
        ((trc == 0)) || rc=1
        res "VMTEST: END $t rc=$trc secs=$(((t1 - t0) / 1000000000)).$(((t1 - t0) / 100000000 % 10))"
done

# whatever the scripts checked: nothing of stockade's may remain in the guest
left=$(
        find /sys/fs/cgroup -mindepth 1 -type d -name 'stockade-*' 2>/dev/null
        findmnt -rn -o TARGET | grep -i stockade
)
if [[ -n $left ]]; then
        rc=1
        res "VMTEST: LEFTOVERS $(tr '\n' ' ' <<<"$left")"
else
        res "VMTEST: LEFTOVERS none"
fi
finish "$rc"
