#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Exit status mirroring, signal forwarding, script mode and the result JSON.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

# ---- exit status mirrors the task
sbx ok -- /bin/true
expect_exit "true" 0 ok
is "$(jqget "$J" .exit.code)" 0 "true: exit.code 0"
is "$(jqget "$J" .exit.signal)" null "true: exit.signal null"

sbx path -- true
is "$RC" 0 "command resolved via PATH inside (true)" || show_run

sbx exit3 -- /probe exit 3
expect_exit "exit 3" 3 exit_nonzero
is "$(jqget "$J" .exit.code)" 3 "exit 3: exit.code 3"
is "$(jqget "$J" .exit.signal)" null "exit 3: exit.signal null"

sbx term -- /probe kill-self 15
expect_exit "kill-self 15" 143 signal
is "$(jqget "$J" .exit.signal)" 15 "kill-self 15: exit.signal 15"
is "$(jqget "$J" .exit.code)" null "kill-self 15: exit.code null"

sbx abrt -- /probe kill-self 6
expect_exit "kill-self 6" 134 signal

sbx noent -- /nonexistent
is "$RC" 127 "/nonexistent: exit status 127" || show_run
is "$(jqget "$J" .exit.status)" 127 "/nonexistent: result exit.status 127"

sbx noent2 -- no-such-command-stockade-it
is "$RC" 127 "command not in PATH: exit status 127" || show_run

sbx noexec -- /etc/passwd
is "$RC" 126 "/etc/passwd (not executable): exit status 126" || show_run
is "$(jqget "$J" .exit.status)" 126 "/etc/passwd: result exit.status 126"
assert_no_leftovers "exit statuses"

# ---- SIGTERM to stockade is forwarded to the task
"$STOCKADE" run --timeout 60s --setenv "STOCKADE_IT=$T" -- /bin/sleep 29.7531 >"$T/sig.out" 2>"$T/sig.err" </dev/null &
spid=$!
BG_PIDS+=("$spid")
# wait (up to 10 s) until the task runs inside
started=0
for _ in $(seq 100); do
        if pgrep -f '^/bin/sleep 29\.7531$' >/dev/null; then
                started=1
                break
        fi
        sleep 0.1
done
check "SIGTERM: the task started" test "$started" = 1
sleep 0.2
t0=$(now_ms)
kill -TERM "$spid"
# guard: if stockade does not react, SIGKILL it after 10 s
(
        sleep 10
        kill -KILL "$spid" 2>/dev/null
) &
guard=$!
BG_PIDS+=("$guard")
wait "$spid"
RC=$?
t1=$(now_ms)
kill "$guard" 2>/dev/null
wait "$guard" 2>/dev/null
is "$RC" 143 "SIGTERM: stockade exits 143" || diag_file "$T/sig.err"
num_le $((t1 - t0)) 2000 "SIGTERM: promptly ($((t1 - t0)) ms)"
check "SIGTERM: the task is gone" bash -c '! pgrep -f "^/bin/sleep 29\.7531$" >/dev/null'
assert_no_leftovers "SIGTERM forwarding"

# ---- SIGKILL of stockade: the sandbox dies with it; the next start removes
# the groups it could not
"$STOCKADE" run --timeout 60s --setenv "STOCKADE_IT=$T" -- /bin/sleep 29.8642 >/dev/null 2>"$T/kill9.err" </dev/null &
spid=$!
BG_PIDS+=("$spid")
started=0
for _ in $(seq 100); do
        if pgrep -f '^/bin/sleep 29\.8642$' >/dev/null; then
                started=1
                break
        fi
        sleep 0.1
done
check "SIGKILL: the task started" test "$started" = 1
kill -KILL "$spid"
wait "$spid" 2>/dev/null
gone=0
for _ in $(seq 50); do
        if ! pgrep -f '^/bin/sleep 29\.8642$' >/dev/null; then
                gone=1
                break
        fi
        sleep 0.1
done
check "SIGKILL: the task died with its supervisor" test "$gone" = 1
stale=$(stockade_cgroup_dirs | grep -c "/stockade-$spid-")
num_ge "$stale" 1 "SIGKILL: its cgroups outlive it until the next start ($stale)"
"$STOCKADE" run -- /bin/true
stale=$(stockade_cgroup_dirs | grep -c "/stockade-$spid-")
is "$stale" 0 "SIGKILL: the next start removed its cgroups"
remove_cgroups_of "$spid"
assert_no_leftovers "SIGKILL of the supervisor"
remove_cgroups_of "$spid"

# ---- script mode
printf 'echo "script-sh-ok $1 $0"\n' >"$T/plain.sh"
chmod 0644 "$T/plain.sh"
sbx script1 "$T/plain.sh" arg1
is "$RC" 0 "script .sh without shebang: exit 0" || show_run
is "$(cat "$OUT")" "script-sh-ok arg1 /task/plain.sh" "script .sh: ran with sh from /task/plain.sh"
is "$(jqget "$J" .code.origin)" script "script .sh: code.origin script"
sum=$(sha256sum "$T/plain.sh" | cut -d' ' -f1)
is "$(jqget "$J" .code.sha256)" "$sum" "script .sh: code.sha256 matches sha256sum"
is "$(jqget "$J" .code.path)" "$T/plain.sh" "script .sh: code.path is the host path"

printf '#!/bin/sh\necho "shebang-ok $# $*"\nexit 7\n' >"$T/withshebang"
chmod 0644 "$T/withshebang"
sbx script2 "$T/withshebang" a b
is "$RC" 7 "script with #!/bin/sh (no extension, not executable): exit status mirrors (7)" || show_run
is "$(cat "$OUT")" "shebang-ok 2 a b" "script #!/bin/sh: ran with its arguments"
is "$(jqget "$J" .code.origin)" script "script #!/bin/sh: code.origin script"
sum=$(sha256sum "$T/withshebang" | cut -d' ' -f1)
is "$(jqget "$J" .code.sha256)" "$sum" "script #!/bin/sh: code.sha256 matches sha256sum"
is "$(jqget "$J" .exit.cause)" exit_nonzero "script #!/bin/sh: cause exit_nonzero"

printf 'if test -w "$0"; then echo writable; else echo readonly; fi\n: >"$0" 2>/dev/null && echo truncated\n' >"$T/ro.sh"
chmod 0666 "$T/ro.sh"
sbx script4 "$T/ro.sh"
is "$(cat "$OUT")" readonly "script: shown read-only inside" || show_run
check "script: the host file is intact" test -s "$T/ro.sh"

is "$(jqget "$T/ok.json" .code.origin)" command "command mode: code.origin command"
is "$(jqget "$T/ok.json" '.code | has("sha256")')" false "command mode: no sha256"
assert_no_leftovers "script mode"

# ---- result JSON
sbx json --request-id 'req-1.A:b_c' --memory 96M --timeout 45s -- /probe exit 0
is "$RC" 0 "json: run ok" || show_run
is "$(jqget "$J" type)" object "json: is one JSON object"
is "$(jqget "$J" .version)" 1 "json: version 1"
is "$(jqget "$J" .request_id)" 'req-1.A:b_c' "json: request_id echoes --request-id"
is "$(jqget "$J" '.argv | tojson')" '["/probe","exit","0"]' "json: argv"
is "$(jqget "$J" .code.origin)" command "json: code.origin command"
is "$(jqget "$J" .exit.cause)" ok "json: exit.cause ok"
is "$(jqget "$J" .error)" null "json: error null"
for ns in pid mount net ipc uts cgroup; do
        is "$(jqget "$J" ".walls.namespaces.$ns")" true "json: walls.namespaces.$ns true"
done
is "$(jqget "$J" .walls.seccomp)" enforce "json: walls.seccomp enforce"
like "$(jqget "$J" .walls.cgroup.backend)" '^(hybrid|v2)$' "json: walls.cgroup.backend hybrid or v2"
for c in memory cpu pids; do
        like "$(jqget "$J" ".walls.cgroup.$c")" '^(v1|v2)$' "json: walls.cgroup.$c v1 or v2"
done
is "$(jqget "$J" .walls.cgroup.swap_off)" true "json: walls.cgroup.swap_off true"
is "$(jqget "$J" .walls.no_new_privs)" true "json: walls.no_new_privs true"
is "$(jqget "$J" .walls.capabilities)" none "json: walls.capabilities none"
is "$(jqget "$J" .walls.network)" loopback "json: walls.network loopback"
is "$(jqget "$J" .walls.uid),$(jqget "$J" .walls.gid)" 65534,65534 "json: walls.uid/gid 65534"
is "$(jqget "$J" .limits.memory_bytes)" $((96 * 1024 * 1024)) "json: limits.memory_bytes matches --memory 96M"
is "$(jqget "$J" .limits.timeout_ms)" 45000 "json: limits.timeout_ms matches --timeout 45s"
is "$(jqget "$J" .limits.cpus)" 1 "json: limits.cpus default 1"
is "$(jqget "$J" .limits.pids)" 128 "json: limits.pids default 128"
is "$(jqget "$J" .limits.cpu_time_ms)" null "json: limits.cpu_time_ms default null"
is "$(jqget "$J" .limits.tmpfs_bytes)" $((64 * 1024 * 1024)) "json: limits.tmpfs_bytes default 64 MiB"
for k in startup_ms wall_ms; do
        like "$(jqget "$J" ".timings.$k")" '^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' "json: timings.$k is a number"
done
for k in prepare_ms cgroup_ms clone_ms mount_ms privileges_ms seccomp_ms exec_ms; do
        like "$(jqget "$J" ".timings.phases.$k")" '^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' "json: timings.phases.$k is a number"
done
for k in cpu_ms cpu_user_ms cpu_system_ms; do
        like "$(jqget "$J" ".usage.$k")" '^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$' "json: usage.$k is a number"
done
check "json: written mode 0600" test "$(stat -c %a "$J")" = 600

# --memory units
sbx units --memory 1g --tmpfs-size 1MiB -- /bin/true
is "$(jqget "$J" .limits.memory_bytes)" $((1024 * 1024 * 1024)) "json: --memory 1g is 1 GiB" || show_run
is "$(jqget "$J" .limits.tmpfs_bytes)" $((1024 * 1024)) "json: --tmpfs-size 1MiB"

# default request id: 32 hex characters
sbx json2 -- /bin/true
like "$(jqget "$J" .request_id)" '^[0-9a-f]{32}$' "json: default request_id is 32 hex characters"
sbx json3 -- /bin/true
check "json: default request_ids differ between runs" test "$(jqget "$J" .request_id)" != "$(jqget "$T/json2.json" .request_id)"
assert_no_leftovers "result json"

done_testing
