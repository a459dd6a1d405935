#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The observation layer as a responder relies on it: what a task did (its
# syscalls, processes and watched files) is in its result and its journal,
# counted in the kernel, never mixed with another task's, and a task with
# observe.shape off has no program linked for it.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

command -v bpftool >/dev/null || skip_all "bpftool is needed"
if [[ ! -e /sys/kernel/btf/vmlinux ]]; then
        skip_all "no kernel BTF: this build has no observation programs"
fi

cat >"$T/shape-on.yaml" <<'EOF'
version: 1
name: shape-on
extends: default
observe:
  shape: true
EOF
cat >"$T/shape-off.yaml" <<'EOF'
version: 1
name: shape-off
extends: default
observe:
  shape: false
EOF

# The task of the issue: opens /etc/passwd, execs /bin/ls, forks twice
# (children exit 3 and 4), makes 200 getpid calls.
cat >"$T/task.py" <<'EOF'
import os, sys
open("/etc/passwd").read()
for code in (3, 4):
    pid = os.fork()
    if pid == 0:
        os._exit(code)
    os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.execv("/bin/ls", ["ls", "/"])
os.waitpid(pid, 0)
for _ in range(200):
    os.getpid()
EOF

JD=$T/journal
recs() { cat "$JD"/journal-*.jsonl | jq -c --arg r "$1" "select(.request_id == \$r) | $2"; }

sbx main --profile "$T/shape-on.yaml" --request-id shape-main --bind "$T/task.py:/task.py" -- python3 /task.py
is "$RC" 0 "the observed task runs" || show_run
num_ge "$(jqget "$J" '[.shape.syscalls.top[] | select(.name == "getpid")][0].calls')" 200 \
        "the result counts at least 200 getpid calls"
num_le "$(jqget "$J" '[.shape.syscalls.top[] | select(.name == "getpid")][0].calls')" 230 \
        "... and not many more (python's own few)"
num_ge "$(jqget "$J" '.shape.files.opens')" 1 "opens are counted"
num_ge "$(jqget "$J" '.shape.processes.forks')" 3 "three forks are counted"
is "$(jqget "$J" '.shape.events.lost')" 0 "no event was lost"
is "$(recs shape-main 'select(.type == "proc" and .event == "exec" and .filename == "/bin/ls") | .argv | join(" ")' | head -n 1)" \
        '"ls /"' "the exec of /bin/ls is a proc record, with its argv"
is "$(recs shape-main 'select(.type == "proc" and .event == "open") | .path' | grep -c '^"/etc/passwd"$')" 1 \
        "the open of /etc/passwd is a proc record"
# The sandbox's init (pid 1 inside) is in the task's cgroup too: it starts
# the task (a fork) and exits last.
is "$(recs shape-main 'select(.type == "proc" and .event == "exit" and .ns_pid != 1) | .code' | sort -n | tr -d '\n')" \
        "0034" "the exits carry their codes (ls 0, python 0, the two children 3 and 4)"
PY=$(recs shape-main 'select(.type == "proc" and .event == "exec" and (.filename | endswith("python3"))) | .pid' | head -n 1)
like "$PY" '^[0-9]+$' "the exec of python3 (the task) is a proc record"
is "$(recs shape-main "select(.type == \"proc\" and .event == \"fork\" and .pid == ${PY:-0})" | wc -l)" 3 \
        "the process tree: python3 forked three children"
is "$(recs shape-main 'select(.type == "proc" and .event == "fork" and .ns_pid == 1) | .child_ns_pid')" 2 \
        "the process tree: init (pid 1) started the task (pid 2)"
is "$(recs shape-main 'select(.type == "shape") | .syscalls.total > 200')" true "a shape record precedes the exit"
# shellcheck disable=SC2317 # called through check
verified() { "$STOCKADE" journal verify "$1" >/dev/null 2>&1; }
check "the journal verifies" verified "$JD"

# ---- two concurrent tasks never mix
cat >"$T/burst.py" <<'EOF'
import os, sys, time
time.sleep(0.3)
for _ in range(int(sys.argv[1])):
    os.getppid()
EOF
CONC=()
for n in 3000 7000; do
        timeout -k 5 60 "$STOCKADE" run --profile "$T/shape-on.yaml" --bind "$T/burst.py:/burst.py" \
                --result-json "$T/conc-$n.json" -- python3 /burst.py "$n" >/dev/null 2>&1 </dev/null &
        CONC+=($!)
done
wait "${CONC[@]}"
for n in 3000 7000; do
        got=$(jqget "$T/conc-$n.json" '[.shape.syscalls.top[] | select(.name == "getppid")][0].calls')
        num_ge "$got" "$n" "concurrent task with $n getppid calls counts at least $n"
        num_le "$got" $((n + 50)) "... and not the other task's"
done

# ---- off costs nothing: no shape program is linked while it runs
"$STOCKADE" run --profile "$T/shape-off.yaml" --request-id shape-off --result-json "$T/off.json" \
        -- /bin/sleep 2 >/dev/null 2>&1 </dev/null &
OFF=$!
sleep 1
# The BPF programs that supervisor holds, by the ids in its fds' fdinfo.
LINKED=0
for fd in /proc/$OFF/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == anon_inode:bpf-prog ]] || continue
        id=$(awk '$1 == "prog_id:" { print $2 }' "/proc/$OFF/fdinfo/${fd##*/}")
        bpftool prog show id "$id" 2>/dev/null | grep -q 'name shape_' && LINKED=$((LINKED + 1))
done
wait "$OFF"
is "$LINKED" 0 "observe.shape off: no observation program is loaded or linked while the task runs"
is "$(jqget "$T/off.json" .shape)" null "observe.shape off: the result has no shape"
is "$(recs shape-off 'select(.type == "proc" or .type == "shape")' | wc -l)" 0 "observe.shape off: no proc or shape records"

# ---- a task map that refuses the entry costs the record its shape, not the run
# fill.py fills the pinned task map with entries of an owner it keeps
# alive (so no supervisor sweeps them), says "full N", and deletes them
# again when its stdin closes.
cat >"$T/fill.py" <<'EOF'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
NR_BPF = 321
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr.ljust(128, b"\0"), 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r
def info(fd):
    out = ctypes.create_string_buffer(128)
    bpf(15, struct.pack("=IIQ", fd, 128, ctypes.addressof(out)))
    return struct.unpack_from("=IIIIII", out.raw)  # type id key value max flags
path = ctypes.create_string_buffer(sys.argv[1].encode())
tasks = bpf(7, struct.pack("=QII", ctypes.addressof(path), 0, 0))
owner = bpf(0, struct.pack("=IIIIIII16s", 2, 4, 4, 1, 0, 0, 0, b"shape_owner"))
owner_id = info(owner)[1]
value_size = info(tasks)[3]
value = ctypes.create_string_buffer(struct.pack("=Q", owner_id).ljust(value_size, b"\0"), value_size)
keys = []
for k in range(1 << 62, (1 << 62) + 8192):
    key = ctypes.c_uint64(k)
    try:
        bpf(2, struct.pack("=IIQQQ", tasks, 0, ctypes.addressof(key), ctypes.addressof(value), 1))
    except OSError as e:
        if e.errno in (7, 28):  # E2BIG, ENOSPC: full
            break
        raise
    keys.append(k)
print("full", len(keys), flush=True)
sys.stdin.read()
for k in keys:
    key = ctypes.c_uint64(k)
    bpf(3, struct.pack("=IIQ", tasks, 0, ctypes.addressof(key)))
EOF
TASKS_PIN=$(find "${STOCKADE_BPF_DIR:-/nonexistent}" -path '*/shape-*/tasks' 2>/dev/null | head -n 1)
if [[ -n $TASKS_PIN ]]; then
        coproc FILL { python3 "$T/fill.py" "$TASKS_PIN" 2>&1; }
        FILL_IN=${FILL[1]}
        read -r -t 60 FULL <&"${FILL[0]}"
        like "$FULL" '^full [0-9]+$' "the pinned task map is filled (${FULL:-no answer})"
        sbx full --profile "$T/shape-on.yaml" -- /bin/true
        is "$RC" 0 "a full task map: the task still runs" || show_run
        like "$(jqget "$J" .shape.error)" 'start observing the task' "... and its result says why it has no shape"
        like "$(cat "$ERR")" 'observe.shape: cannot' "... and so does stderr"
        exec {FILL_IN}>&-
        wait "$FILL_PID"
        sbx after-full --profile "$T/shape-on.yaml" -- /bin/true
        num_ge "$(jqget "$J" .shape.syscalls.total)" 1 "emptied again, the next task has its shape"
else
        skip "a full task map: the task still runs" "no pinned program cache (bpffs)"
fi

assert_no_leftovers "shape"
done_testing
