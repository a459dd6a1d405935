#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# stockade journal show renders the observation records (proc, shape) of a
# request: compact proc lines in the timeline, then the process tree and the
# syscall table. No run writes these records yet, so the journal is made by
# tests/helpers/journal-append, which appends through journal_append() like
# any writer (the chain must still verify). No sandbox is started.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

# Built beside stockade (tests/helpers/meson.build); JOURNAL_APPEND overrides.
JA=${JOURNAL_APPEND:-$(dirname "$STOCKADE")/../tests/helpers/journal-append}
[[ -x $JA ]] || bail_out "journal-append not found at $JA (set JOURNAL_APPEND)"
JD=$T/jr

# verified: stockade journal verify $JD, quietly
# shellcheck disable=SC2317 # called through check
verified() { "$STOCKADE" journal verify "$JD" >/dev/null 2>&1; }

# show ARGS...: stockade journal show ARGS $JD; sets RC, output in $T/show.out
show() {
        "$STOCKADE" journal show "$@" "$JD" >"$T/show.out" 2>"$T/show.err"
        RC=$?
}
# block TITLE: the lines of $T/show.out from the one starting with "  TITLE" to the next blank line
block() {
        awk -v t="  $1" 'index($0, t) == 1 { on = 1 } on && $0 == "" { exit } on' "$T/show.out"
}

# ---- one request with a process tree, an open and a shape record
"$JA" "$JD" <<'JSON'
{"type": "supervisor", "fields": {"event": "started"}}
{"type": "admission", "request_id": "req-show", "fields": {"decision": "allow", "tenant": "uid:0"}}
{"type": "start", "request_id": "req-show", "fields": {"startup_ms": 3.1}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "exec", "pid": 5001, "ns_pid": 1, "comm": "sh", "t_ms": 0.4, "filename": "/bin/sh", "filename_truncated": false, "argv": ["sh", "-c", "ls -l /tmp; exit 3"], "argv_truncated": false, "argc": 3}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "fork", "pid": 5001, "ns_pid": 1, "comm": "sh", "t_ms": 1.25, "child_pid": 5002, "child_ns_pid": 2}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "exec", "pid": 5002, "ns_pid": 2, "comm": "ls", "t_ms": 2, "filename": "/bin/ls", "filename_truncated": false, "argv": ["ls", "-l", "/tmp"], "argv_truncated": false, "argc": 3, "future_field": {"x": 1}}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "open", "pid": 5002, "ns_pid": 2, "comm": "ls", "t_ms": 2.5, "path": "/etc/passwd", "path_truncated": false, "syscall": "openat", "flags": 524288}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "fork", "pid": 5002, "ns_pid": 2, "comm": "ls", "t_ms": 3, "child_pid": 5003, "child_ns_pid": 3}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "exit", "pid": 5003, "ns_pid": 3, "comm": "ls", "t_ms": 4, "code": null, "signal": 9}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "exit", "pid": 5002, "ns_pid": 2, "comm": "ls", "t_ms": 5, "code": 3, "signal": null}}
{"type": "proc", "request_id": "req-show", "fields": {"event": "exit", "pid": 5001, "ns_pid": 1, "comm": "sh", "t_ms": 6.75, "code": 0, "signal": null}}
{"type": "shape", "request_id": "req-show", "fields": {"syscalls": {"total": 1000, "errors": 40, "top": [{"name": "read", "nr": 0, "calls": 500, "errors": 0, "errnos": {}}, {"name": "openat", "nr": 257, "calls": 200, "errors": 30, "errnos": {"ENOENT": 25, "EACCES": 5}}, {"name": "close", "nr": 3, "calls": 150, "errors": 0, "errnos": {}}, {"name": "mmap", "nr": 9, "calls": 100, "errors": 0, "errnos": {}}, {"name": "execve", "nr": 59, "calls": 2, "errors": 1, "errnos": {"ENOENT": 1}}], "others": {"calls": 48, "errors": 9}}, "errnos": {"ENOENT": 26, "EBADF": 9, "EACCES": 5}, "files": {"opens": 42}, "processes": {"forks": 2, "execs": 2, "exits": 3, "threads": 0}, "events": {"emitted": 8, "dropped": 5, "lost": 0, "budget": 100000}}}
{"type": "exit", "request_id": "req-show", "fields": {"exit": {"cause": "exited", "status": 0, "code": 0, "signal": null}, "wall_ms": 12}}
{"type": "admission", "request_id": "req-other", "fields": {"decision": "allow"}}
JSON
is "$?" 0 "journal-append: the fixture records are appended"
check "verify: the chain is intact" verified

show --request-id req-show --top 3
is "$RC" 0 "show --request-id: exit 0" || diag_file "$T/show.err"
out=$(cat "$T/show.out")
is "$(head -n 1 "$T/show.out")" "request req-show" "show: one block, for the request asked for"
lacks "$T/show.out" 'req-other|started' "show: no other request's records"
like "$out" $'\n'"  [^\n]*#2 +admission +decision=allow" "show: other records as before (ts #seq type k=v)"
like "$out" $'\n'"  +\\+2\\.0ms  exec  pid 2  /bin/ls  \\[ls -l /tmp\\]"$'\n' "show: the exec line, with its argv"
like "$out" $'\n'"  +\\+0\\.4ms  exec  pid 1  /bin/sh  \\[sh -c 'ls -l /tmp; exit 3'\\]"$'\n' \
        "show: an argument with spaces is quoted"
like "$out" $'\n'"  +\\+1\\.2ms  fork  1 -> 2"$'\n' "show: the fork line"
like "$out" $'\n'"  +\\+2\\.5ms  open  pid 2  /etc/passwd \\(openat, O_RDONLY\\|O_CLOEXEC\\)"$'\n' "show: the open line"
like "$out" $'\n'"  +\\+4\\.0ms  exit  3 signal 9 \\(SIGKILL\\)"$'\n' "show: exit by a signal"
like "$out" $'\n'"  +\\+5\\.0ms  exit  2 code 3"$'\n' "show: exit with a code"
like "$out" $'\n'"  +\\+6\\.8ms  exit  1 code 0"$'\n' "show: exit 0"
lacks "$T/show.out" 'future_field' "show: unknown proc fields are ignored"
like "$out" $'\n'"  [^\n]*#12 +shape +syscalls=1000 errors=40 opens=42 forks=2 execs=2 exits=3 events=8 dropped=5 lost=0"$'\n' \
        "show: the shape record's counts in the timeline"

is "$(block 'Process tree')" "  Process tree (3 processes):
    1  /bin/sh  exit code 0
      2  /bin/ls  exit code 3
        3  (ls)  exit signal 9 (SIGKILL)" "show: the process tree, children under their parents"

is "$(block 'Syscalls' | sed 's/  */ /g')" " Syscalls:
 syscall calls errors errnos
 read 500 0 -
 openat 200 30 ENOENT 25, EACCES 5
 close 150 0 -
 (other syscalls) 150 10 -
 total 1000 40 ENOENT 26, EBADF 9, EACCES 5
 files: 42 opens
 processes: 2 forks, 2 execs, 3 exits, 0 threads
 events: 8 emitted, 5 dropped, 0 lost, budget 100000
 warning: 5 events were dropped (over the task's budget of 100000 events):
 the process events above are incomplete; the counts are complete" "show --top 3: the syscall table, its rows by calls, totals, events"
lacks "$T/show.out" 'were lost' "show: no 'lost' warning when nothing was lost"

show --request-id req-show
is "$(block 'Syscalls' | awk 'NR > 2 { print $1 }' | head -n 6 | tr '\n' ' ')" "read openat close mmap execve (other " \
        "show: all five rows by default (--top 15)"
show --request-id req-show --top 0
is "$(block 'Syscalls' | awk 'NR == 3 { print $1, $2 }')" "(other syscalls)" "show --top 0: only the rest and totals"
show --request-id req-show --top x3
is "$RC" 125 "show --top x3: a usage error"
show --request-id req-show --json
is "$(jq -s 'length' <"$T/show.out")" 12 "show --json: the raw records, all 12"
is "$(jq -r 'select(.type == "proc" and .event == "exec") | .argv[0]' <"$T/show.out" | tr '\n' ' ')" "sh ls " \
        "show --json: the proc fields as written"
lacks "$T/show.out" 'Process tree|Syscalls' "show --json: no rendering"
show
lacks "$T/show.out" 'Process tree|Syscalls' "show without --request-id: the timeline only"
like "$(cat "$T/show.out")" "exec  pid 2  /bin/ls" "show without --request-id: proc lines are compact too"

# ---- out-of-order events, a reused pid, siblings, a pid known only inside
"$JA" "$JD" <<'JSON'
{"type": "proc", "request_id": "req-edge", "fields": {"event": "exec", "pid": 6001, "ns_pid": 1, "comm": "a", "t_ms": 0, "filename": "/bin/a"}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "exec", "pid": 6010, "ns_pid": 10, "comm": "b", "t_ms": 1, "filename": "/bin/b"}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "fork", "pid": 6001, "ns_pid": 1, "comm": "a", "t_ms": 0.5, "child_pid": 6010, "child_ns_pid": 10}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "fork", "pid": 6001, "ns_pid": 1, "comm": "a", "t_ms": 2, "child_pid": 6011, "child_ns_pid": 11}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "exit", "pid": 6011, "ns_pid": 11, "comm": "a", "t_ms": 3, "code": 1}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "fork", "pid": 6001, "ns_pid": 1, "comm": "a", "t_ms": 4, "child_pid": 6011, "child_ns_pid": 11}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "exit", "pid": 6011, "ns_pid": 11, "comm": "a", "t_ms": 5, "code": 2}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "fork", "pid": 6010, "ns_pid": null, "comm": "b", "t_ms": 6, "child_pid": 6012, "child_ns_pid": null}}
{"type": "proc", "request_id": "req-edge", "fields": {"event": "exec", "pid": 6012, "comm": "c", "t_ms": 7, "filename": "/usr/bin/a-very-long-name", "filename_truncated": true, "argv": ["c", "1", "2", "3"], "argv_truncated": true, "argc": 9}}
JSON
is "$?" 0 "journal-append: edge-case records appended"
show --request-id req-edge
is "$(block 'Process tree')" "  Process tree (5 processes):
    1  /bin/a  (no exit seen)
      10  /bin/b  (no exit seen)
        6012  /usr/bin/a-very-long-name...  (no exit seen)
      11  (a)  exit code 1
      11  (a)  exit code 2" \
        "show: a child seen before its fork is adopted, a reused pid is a new process, host pids when no ns pid"
like "$(cat "$T/show.out")" 'exec  pid 6012  /usr/bin/a-very-long-name\.\.\.  \[c 1 2 3 \.\.\.\] \(argc 9\)' \
        "show: cut filename and argv are marked, with argc"
like "$(block 'Syscalls')" 'no shape record' "show: a request without a shape record says so"

# ---- records with missing, null and mistyped fields, and escapes
"$JA" "$JD" <<'JSON'
{"type": "proc", "request_id": "req-bad", "fields": {}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "exec"}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "fork", "pid": "x", "t_ms": "soon", "child_pid": [1]}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "fork", "pid": 7, "child_pid": 7}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "exit", "pid": 7, "code": "zero", "signal": null}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "open", "pid": null, "path": null, "flags": "rw"}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "exec", "pid": 8, "t_ms": 1e300, "filename": "/tmp/\u001b[31mred\u0007", "argv": [1, null, "\u001b]0;x"], "argc": -1}}
{"type": "proc", "request_id": "req-bad", "fields": {"event": "teleport", "pid": {"a": 1}}}
{"type": "shape", "request_id": "req-bad", "fields": {"syscalls": "oops", "errnos": [1], "events": {"dropped": "many", "lost": 3}}}
{"type": "shape", "request_id": "req-bad", "fields": {"syscalls": {"top": [{}, 5, null, {"nr": 400, "calls": "x", "errnos": {"E\u001b": null}}], "others": null}}}
{"type": "shape", "request_id": "req-bad"}
JSON
is "$?" 0 "journal-append: malformed records appended"
show --request-id req-bad
is "$RC" 0 "show: records with missing fields do not crash it" || diag_file "$T/show.err"
out=$(cat "$T/show.out")
like "$out" $'\n'"           -  proc  -  pid -"$'\n' "show: a proc record without fields: '-'"
like "$out" $'\n'"           -  exec  pid -  -  \\[-\\]"$'\n' "show: an exec without fields: '-'"
like "$out" $'\n'"           -  exit  7 -"$'\n' "show: an exit with a mistyped code: '-'"
like "$out" $'\n'"           -  open  pid -  - \\(-\\)"$'\n' "show: an open without fields: '-'"
like "$out" 'exec  pid 8  /tmp/\\x1b\[31mred\\x07  \[- - '"'"'\\x1b\]0;x'"'"'\] \(argc -1\)' \
        "show: control characters from the task are escaped"
lacks "$T/show.out" $'\x1b|\x07' "show: no raw escape reaches the terminal"
like "$out" 'Syscalls \(shape record #[0-9]+\):' "show: several shape records are each labelled"
like "$out" 'nr 400 +- +-' "show: a syscall row without a name shows its number"
like "$out" 'warning: 3 events were lost \(the ring buffer was full\)' "show: lost events are said plainly"
check "verify: still intact after all appends" verified

done_testing
