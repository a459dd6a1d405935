#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The walls as the task sees them: pid namespace, read-only host, hidden
# directories, masked secrets, clean environment, closed descriptors,
# no capabilities, seccomp, foreign ABIs, loopback-only network.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

# ---- own pids only
sbx pids -- /probe pids
expect_exit "pids view" 0 ok
self=$(kv "$OUT" self)
is "$self" 2 "pid namespace: the task is pid 2"
pids=$(kv "$OUT" pids)
like "$pids" '^[123](,[123])*$' "pid namespace: only pids 1..3 are visible (pids=$pids)"
assert_no_leftovers "pids view"

# ---- identity, capabilities, no_new_privs
sbx ids -- /probe ids
is "$(kv "$OUT" uid),$(kv "$OUT" euid),$(kv "$OUT" gid),$(kv "$OUT" egid)" \
        65534,65534,65534,65534 "identity: uid/gid 65534 by default" || show_run
is "$(kv "$OUT" groups)" 0 "identity: no supplementary groups"

sbx caps -- /probe caps
expect_exit "caps" 0 ok
for k in CapInh CapPrm CapEff CapBnd CapAmb; do
        is "$(kv "$OUT" "$k")" 0000000000000000 "capabilities: $k is zero"
done
is "$(kv "$OUT" NoNewPrivs)" 1 "no_new_privs is set"
assert_no_leftovers "caps"

# ---- host paths are read-only, /tmp is writable, binds ro by default
mark=stockade-it-$$-$RANDOM
host_paths=("/usr/$mark" "/etc/$mark" "/$mark")
sbx writes -- /bin/sh -c '
        for p in "$@"; do
                echo "$p $(/probe write "$p")"
        done' sh "${host_paths[@]}" "/tmp/$mark" "/dev/shm/$mark"
expect_exit "writes" 0 ok
for p in "${host_paths[@]}"; do
        got=$(grep "^$p " "$OUT" | cut -d' ' -f2)
        like "$got" '^write=(EROFS|EACCES|EPERM)$' "writes: ${p%/*}/ is not writable ($got)"
        if [[ -e $p ]]; then
                not_ok "writes: $p did not appear on the host"
                rm -f -- "$p"
        else
                ok "writes: $p did not appear on the host"
        fi
done
is "$(grep "^/tmp/$mark " "$OUT" | cut -d' ' -f2)" write=OK "writes: /tmp is writable"
is "$(grep "^/dev/shm/$mark " "$OUT" | cut -d' ' -f2)" write=OK "writes: /dev/shm is writable"
if [[ -e /tmp/$mark ]]; then
        not_ok "writes: /tmp inside is not the host's /tmp"
        rm -f -- "/tmp/$mark"
else
        ok "writes: /tmp inside is not the host's /tmp"
fi
assert_no_leftovers "writes"

mkdir -m 0777 "$T/ro" "$T/rw"
sbx bindro --bind "$T/ro" -- /probe write "$T/ro/f"
is "$(kv "$OUT" write)" EROFS "bind default ro: write fails with EROFS" || show_run
check "bind default ro: nothing on the host" test ! -e "$T/ro/f"
sbx bindro2 --bind "$T/ro:/data:ro" -- /probe write /data/f
is "$(kv "$OUT" write)" EROFS "bind :ro at another path: write fails with EROFS" || show_run
sbx bindrw --bind "$T/rw:$T/rw:rw" -- /probe write "$T/rw/f"
is "$(kv "$OUT" write)" OK "bind :rw: write succeeds" || show_run
check "bind :rw: the file appears on the host" grep -qx "written by probe" "$T/rw/f"
rm -f "$T/rw/f"
sbx bindrw2 --bind "$T/rw:/data:rw" -- /probe write /data/g
is "$(kv "$OUT" write)" OK "bind :rw at another path: write succeeds" || show_run
check "bind :rw at another path: the file appears on the host" test -s "$T/rw/g"
assert_no_leftovers "binds"

# ---- hidden host directories
sbx hidden -- /bin/sh -c '
        for p in /root /home /run /var /var/lib; do
                if test -e "$p"; then echo "$p=present"; else echo "$p=absent"; fi
        done'
expect_exit "hidden dirs" 0 ok
for p in /root /home /run /var /var/lib; do
        is "$(kv "$OUT" "$p")" absent "hidden: $p is not visible"
done
assert_no_leftovers "hidden dirs"

# ---- masked secrets
for f in /etc/shadow /etc/gshadow; do
        [[ -e $f ]] || {
                skip "masked: $f" "no $f on this host"
                continue
        }
        sbx shadow -- /probe read "$f"
        r=$(kv "$OUT" read)
        b=$(kv "$OUT" bytes)
        if [[ $r == OK ]]; then
                is "$b" 0 "masked: $f reads as empty" || show_run
        else
                like "$r" '^(EACCES|EPERM)$' "masked: $f is unreadable ($r)" || show_run
        fi
done
sbx shadowls -- /bin/sh -c 'cat /etc/shadow 2>/dev/null | wc -c'
is "$(tr -d ' \n' <"$OUT")" 0 "masked: cat /etc/shadow gives nothing"
assert_no_leftovers "masked secrets"

# ---- environment: cleared, then the documented variables
export SECRET_TOKEN=xyz
sbx env -- /probe env
expect_exit "env" 0 ok
lacks "$OUT" '^SECRET_TOKEN=' "env: SECRET_TOKEN is not passed by default"
is "$(kv "$OUT" PATH)" /usr/local/bin:/usr/bin:/bin "env: PATH"
is "$(kv "$OUT" LANG)" C.UTF-8 "env: LANG"
is "$(kv "$OUT" HOME)" /tmp "env: HOME"
# STOCKADE_IT is the test's own --setenv marker
extra=$(grep -v -e '^PATH=' -e '^LANG=' -e '^HOME=' -e '^STOCKADE_IT=' "$OUT" | tr '\n' ' ')
is "$extra" "" "env: nothing else from the host"
sbx env2 --env SECRET_TOKEN --setenv A=B --setenv 'C=with space=and equals' -- /probe env
is "$(kv "$OUT" SECRET_TOKEN)" xyz "env: --env SECRET_TOKEN passes it" || show_run
is "$(kv "$OUT" A)" B "env: --setenv A=B sets it"
is "$(kv "$OUT" C)" "with space=and equals" "env: --setenv keeps spaces and '=' in the value"
unset SECRET_TOKEN
assert_no_leftovers "env"

# ---- descriptors: fds > 2 of the caller are closed
exec 9</dev/null
sbx fds -- /probe fd 9
exec 9<&-
expect_exit "fds" 0 ok
is "$(kv "$OUT" fd9)" closed "fds: the caller's fd 9 is closed inside"
is "$(kv "$OUT" fds)" 0,1,2 "fds: only 0, 1 and 2 are open"
assert_no_leftovers "fds"

# ---- seccomp: refused calls
sbx sys -- /probe syscalls
expect_exit "syscalls" 0 ok
for name in mount umount2 fsopen pivot_root ptrace process_vm_readv bpf \
        unshare_newns unshare_newnet unshare_newuser setns \
        socket_netlink socket_packet keyctl add_key userfaultfd io_uring_setup \
        perf_event_open reboot clock_settime tiocsti; do
        is "$(kv "$OUT" "$name")" EPERM "seccomp: $name -> EPERM"
done
for name in socket_inet socket_inet6 socket_unix; do
        is "$(kv "$OUT" "$name")" OK "seccomp: $name allowed"
done
is "$(kv "$OUT" clone3)" ENOSYS "seccomp: clone3 -> ENOSYS"
# libc falls back to clone(): fork and threads still work
sbx forkok -- /bin/sh -c 'echo a | cat; /probe forkbomb 3'
is "$RC" 0 "seccomp: fork still works (status $RC)" || show_run
is "$(kv "$OUT" forked)" 3 "seccomp: forked 3 children"
assert_no_leftovers "syscalls"

# ---- foreign ABIs are killed with SIGSYS
sbx x32 -- /probe x32
expect_exit "x32 syscall" 159 seccomp
is "$(jqget "$J" .exit.signal)" 31 "x32 syscall: exit.signal is 31 (SIGSYS)"
lacks "$OUT" '^x32=alive' "x32 syscall: the process did not survive"
assert_no_leftovers "x32"

# (in a child bash, so that a crash is not reported on our stderr)
if bash -c '"$1" i386 || exit 1' _ "$PROBE" >/dev/null 2>&1; then
        sbx i386 -- /probe i386
        expect_exit "i386 syscall" 159 seccomp
        is "$(jqget "$J" .exit.signal)" 31 "i386 syscall: exit.signal is 31 (SIGSYS)"
        assert_no_leftovers "i386"
else
        for d in "i386 syscall: exit status 159" "i386 syscall: result cause seccomp" \
                "i386 syscall: exit.signal is 31 (SIGSYS)" "nothing left behind: i386"; do
                skip "$d" "int 0x80 does not work on this host even outside a sandbox"
        done
fi

# ---- network: only lo, and it is up
sbx net -- /probe ifaces
expect_exit "network" 0 ok
is "$(kv "$OUT" ifaces)" lo "network: lo is the only interface"
is "$(kv "$OUT" lo_up)" 1 "network: lo is up"
assert_no_leftovers "network"

done_testing
