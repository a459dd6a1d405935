#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.sh [BUILDDIR]: the VM stage.  Runs the integration scripts that need
# cgroup controllers on a pure cgroup v2 kernel: boots Debian's 6.1 kernel
# once under qemu (TCG) with cgroup_no_v1=all, runs the scripts there against
# the stockade and probe built in BUILDDIR (default: build), and prints
#
#   vm: N passed, N failed
#
# counting each script as one test, like meson (a missing result counts as
# failed).  Exit status 0 only when every script passed, the guest reported
# its verdict and nothing was left behind in it; 1 otherwise (test failure,
# missing result, guest panic, timeout, set-up failure).
#
# Environment (all optional):
#   VM_TESTS        scripts from tests/integration to run (default
#                   test-limits.sh; "test-limits.sh test-exit.sh" adds the
#                   supervisor-SIGKILL sweep and signal forwarding, but takes
#                   30-75 s more, too much for CI's 2-minute budget on a busy
#                   host)
#   VM_CACHE        kernel cache, keyed by package name (/var/cache/stockade-vm)
#   VM_TIMEOUT      seconds before qemu is killed (default 110: with the
#                   default tests even a hung guest stays in the 2 minutes)
#   VM_TEST_TIMEOUT seconds allowed per script inside the guest (default 90)
#   VM_SLACK_MS     extra milliseconds the timing checks allow (default 1500):
#                   under TCG every instruction is emulated, so stockade's own
#                   start and teardown take several times longer than on
#                   hardware (wall-clock and CPU-time accounting stay right)
#   VM_LOGDIR       where vm-console.log, vm-results.log and vm-summary.txt go
#                   (default BUILDDIR/meson-logs)
#   VM_SMP, VM_MEM  guest CPUs (2) and memory (1G)
#   VM_APPEND       extra kernel command line; VM_QEMU_ARGS extra qemu arguments
#                   (word-split), e.g. VM_APPEND=rdinit=/nonexistent to see a
#                   guest panic fail the stage
#
# Needs (Debian 12): qemu-system-x86 busybox-static cpio gcc libc6-dev, and
# apt lists that know linux-image-amd64 (apt-get update).  See README.md.
set -u
set -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(realpath -e "${1:-$repo/build}") || {
        echo "vm: no build directory ${1:-$repo/build}" >&2
        exit 1
}
tests=${VM_TESTS:-test-limits.sh}
logdir=${VM_LOGDIR:-$build/meson-logs}
summary=$logdir/vm-summary.txt
mkdir -p "$logdir"
rm -f "$summary"

t_start=$(date +%s%N)
secs_since() { # secs_since NS: seconds from NS to now, one decimal
        local d=$(($(date +%s%N) - $1))
        printf '%d.%d' $((d / 1000000000)) $((d / 100000000 % 10))
}

ntests=$(wc -w <<<"$tests")
# set-up failed: every test counts as failed
setup_fail() {
        echo "vm: SET-UP FAILED: $*" >&2
        echo "vm: 0 passed, $ntests failed" | tee "$summary"
        exit 1
}

for t in $tests; do
        [[ $t == /* ]] && continue # an absolute path: a script of your own (visible in the guest)
        [[ -f $repo/tests/integration/$t ]] || setup_fail "no tests/integration/$t"
done
for f in "$build/helper/stockade" "$build/tests/helpers/probe"; do
        [[ -x $f ]] || setup_fail "$f is not built"
done
for c in qemu-system-x86_64 cpio gcc; do
        command -v "$c" >/dev/null || setup_fail "$c is missing (apt-get install qemu-system-x86 busybox-static cpio gcc)"
done
qboot=/usr/share/qemu/qboot.rom
[[ -f $qboot ]] || setup_fail "$qboot is missing (package qemu-system-data)"
# the initramfs has no libc: busybox must be the static one
busybox=/bin/busybox
LC_ALL=C file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
        ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable' ||
        setup_fail "$busybox is missing or not static (apt-get install busybox-static)"

# ---- kernel (cached by package name)
kdir=$("$here/fetch-kernel.sh" "${VM_CACHE:-/var/cache/stockade-vm}") || setup_fail "no kernel"

# ---- initramfs: busybox, stage 1 (init), vmexit, 9p modules, the run's settings
work=$(mktemp -d /tmp/stockade-vm.XXXXXX) || setup_fail "mktemp"
trap 'rm -rf -- "$work"' EXIT

ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,tmp,lib/modules}
gcc -O2 -Wall -static -o "$ird/bin/vmexit" "$here/vmexit.c" || setup_fail "cannot build vmexit"
cp "$busybox" "$ird/bin/busybox"
for a in $("$busybox" --list); do
        [[ $a == busybox ]] || ln -s busybox "$ird/bin/$a"
done
install -m 0755 "$here/init" "$ird/init"
cp "$kdir"/modules/*.ko "$ird/lib/modules/"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quote for sh
{
        echo "VM_REPO=$(q "$repo")"
        echo "VM_BUILD=$(q "$build")"
        echo "VM_TESTS=$(q "$tests")"
        echo "VM_TEST_TIMEOUT=$(q "${VM_TEST_TIMEOUT:-90}")"
        echo "VM_SLACK_MS=$(q "${VM_SLACK_MS:-1500}")"
} >"$ird/vm.conf"
(cd "$ird" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio" || setup_fail "cpio"

# ---- boot once.  Kernel command line: cgroup_no_v1=all (pure v2), panic=-1
# with -no-reboot (a guest panic ends qemu at once: "no verdict"), norandmaps
# (no ASLR in the guest: TCG caches translated code by virtual address, and
# with the same addresses in every process each exec costs 2-3x less; the
# tests exec bash, jq and coreutils hundreds of times).
# The console (ttyS0) streams here, the results (ttyS1) go to a file.
console=$logdir/vm-console.log
results=$logdir/vm-results.log
: >"$results"
echo "vm: booting $(cat "$kdir/package") (TCG, cgroup_no_v1=all), tests: $tests"
read -ra qemu_extra <<<"${VM_QEMU_ARGS:-}"
t_qemu=$(date +%s%N)
# --foreground: an interrupt of the stage reaches qemu too
timeout --foreground -k 5 "${VM_TIMEOUT:-110}" qemu-system-x86_64 \
        -accel tcg,thread=multi -smp "${VM_SMP:-2}" -m "${VM_MEM:-1G}" \
        -M pc -bios "$qboot" -nic none \
        -display none -monitor none -no-reboot \
        -serial stdio -serial "file:$results" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -kernel "$kdir/vmlinux" -initrd "$work/initramfs.cpio" \
        -append "console=ttyS0 quiet cgroup_no_v1=all panic=-1 norandmaps ${VM_APPEND:-}" \
        "${qemu_extra[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$console"
qrc=${PIPESTATUS[0]}
t_qemu_secs=$(secs_since "$t_qemu")

# ---- verdict: qemu's status says whether the guest reported at all
case $qrc in
1) verdict="guest reported pass" ;;
3) verdict="guest reported failure" ;;
124 | 137) verdict="TIMEOUT: qemu killed after ${VM_TIMEOUT:-110}s" ;;
*) verdict="NO VERDICT from the guest (qemu status $qrc: panic, crash or power-off)" ;;
esac

# ---- per-script results from the results channel
tr -d '\r' <"$results" >"$work/results"
passed=0
failed=0
points_ok=0
points_bad=0
for t in $tests; do
        # ok / not-ok points, the plan, the script's status, its time
        read -r ok bad plan bail src secs < <(awk -v t="$t" '
                $0 == "VMTEST: BEGIN " t { inside = 1; seen = 1; next }
                inside && index($0, "VMTEST: END " t " ") == 1 {
                        for (i = 1; i <= NF; i++) {
                                if ($i ~ /^rc=/) rc = substr($i, 4)
                                if ($i ~ /^secs=/) secs = substr($i, 6)
                        }
                        inside = 0; next
                }
                !inside { next }
                /^ok / { ok++ }
                /^not ok / { bad++ }
                /^1\.\.[0-9]+/ { plan = substr($1, 4) }
                /^Bail out!/ { bail = 1 }
                END { printf "%d %d %s %d %s %s\n", ok, bad, plan == "" ? "-" : plan, bail,
                        rc == "" ? "-" : rc, secs == "" ? "?" : secs }
        ' "$work/results")
        why=
        if [[ $src == - ]]; then
                why="no result"
        elif [[ $src != 0 ]]; then
                why="exit status $src"
        fi
        ((bad > 0)) && why="${why:+$why, }$bad not ok"
        ((bail)) && why="${why:+$why, }bailed out"
        [[ $plan == - && $src != - ]] && why="${why:+$why, }no plan"
        [[ $plan != - ]] && ((ok + bad != plan)) && why="${why:+$why, }$((ok + bad)) of $plan points ran"
        points_ok=$((points_ok + ok))
        points_bad=$((points_bad + bad))
        if [[ -z $why ]]; then
                passed=$((passed + 1))
                echo "vm: PASS $t ($ok points, ${secs}s)"
        else
                failed=$((failed + 1))
                echo "vm: FAIL $t ($why; $ok ok, $bad not ok, ${secs}s)"
        fi
done

status=0
left=$(sed -n 's/^VMTEST: LEFTOVERS //p' "$work/results")
# (without a verdict there is no leftover report either: the verdict says why)
if [[ $qrc == [13] && $left != none ]]; then
        status=1
        echo "vm: FAIL the guest has stockade cgroups or mounts left: ${left:-<no report>}"
fi
if [[ $qrc != 1 ]]; then
        status=1
        echo "vm: FAIL $verdict"
fi
((failed == 0)) || status=1
# a stage-level failure (no verdict, leftovers) with every script passed still
# has to show in the count that CI's closing line adds up
((status && failed == 0)) && failed=1

boot=$(sed -n 's/^VMTEST: root built at \([0-9.]*\)s.*/\1/p' "$console" | head -n 1)
guest=$(sed -n 's/^VMTEST: DONE rc=[0-9]* uptime=\([0-9.]*\).*/\1/p' "$work/results" | head -n 1)
echo "vm: times: boot to test root ${boot:-?}s, guest uptime at the end ${guest:-?}s," \
        "qemu ${t_qemu_secs}s, stage $(secs_since "$t_start")s; $verdict;" \
        "$points_ok test points ok, $points_bad not ok"
echo "vm: $passed passed, $failed failed" | tee "$summary"
exit $status
