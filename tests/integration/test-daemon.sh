#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# stockaded: an unprivileged caller runs tasks through the daemon and gets
# what embedded mode gives; tenants, admission, quotas, robustness against
# bad clients, reload, shutdown, and nothing left behind.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

STOCKADED=${STOCKADED:-$(dirname "$STOCKADE")/../supervisor/stockaded}
[[ -x $STOCKADED ]] || bail_out "STOCKADED=$STOCKADED is not executable"
command -v setpriv >/dev/null || bail_out "setpriv (util-linux) is needed"
command -v python3 >/dev/null || bail_out "python3 is needed"

# STOCKADE_TEST_BURST: the size of the big burst (the VM stage, where
# every exec is emulated, runs a smaller one).
BURST=${STOCKADE_TEST_BURST:-200}
[[ $BURST =~ ^[0-9]+$ ]] && ((BURST >= 20)) || bail_out "STOCKADE_TEST_BURST=$BURST is not a number >= 20"

SOCK=$T/run/stockade.sock
DJ=$T/djournal
CONF=$T/stockaded.yaml
C=$T/client # the unprivileged caller's own directory
mkdir -p "$C" && chmod 1777 "$C" # callers of two uids write here

write_config() { # write_config EXTRA_PROFILE_FOR_AGENTS
        cat >"$CONF" <<EOF
socket: $SOCK
socket_group: nogroup
journal: $DJ
grace: 3s
request_timeout: 3s
tenants:
  - name: agents
    uids: [65534]
    profiles: [default, shell${1:+, $1}]
    code_origins:
      user: any
      generated: any
    max_concurrent: 4
    max_queued: 300
    queue_timeout: 60s
  - name: tight
    uids: [2]
    profiles: [default]
    max_concurrent: 1
    max_queued: 0
    memory_max: 96MiB
  - name: rated
    uids: [5]
    profiles: [default]
    max_concurrent: 100 # only the rate may refuse, however slow the tasks
    rate_per_minute: 10
  - name: burner
    uids: [4]
    profiles: [default]
    cpu_weight: 100
  - name: root
    uids: [0]
    profiles: [default]
EOF
}

DPID=""
start_daemon() {
        "$STOCKADED" --config "$CONF" >"$T/daemon.log" 2>&1 &
        DPID=$!
        BG_PIDS+=("$DPID")
        for _ in $(seq 100); do
                [[ -S $SOCK ]] && return 0
                kill -0 "$DPID" 2>/dev/null || break
                sleep 0.05
        done
        diag_file "$T/daemon.log"
        bail_out "stockaded did not start"
}

# as_user UID CMD...: run as UID with group nogroup (allowed on the socket)
as_user() {
        local uid=$1
        shift
        setpriv --reuid="$uid" --regid=65534 --clear-groups --inh-caps=-all "$@"
}

# dsbx NAME UID OPTIONS... -- CMD: like sbx, through the daemon as UID
dsbx() {
        local name=$1 uid=$2
        shift 2
        OUT=$C/$name.out
        ERR=$C/$name.err
        J=$C/$name.json
        rm -f -- "$OUT" "$ERR" "$J"
        timeout -k 5 60 setpriv --reuid="$uid" --regid=65534 --clear-groups --inh-caps=-all \
                "$STOCKADE" run --connect "$SOCK" --bind "$PROBE:/probe" --setenv "STOCKADE_IT=$T" \
                --result-json "$J" "$@" >"$OUT" 2>"$ERR" </dev/null
        RC=$?
}

# burst_outcomes UID PREFIX -- CMD...: 30 callers at once, request ids
# PREFIX-1..30; sets n0 (ran), n124 (refused) and nother (anything else)
burst_outcomes() {
        local uid=$1 prefix=$2 i
        local -a pids=()
        shift 3
        for i in $(seq 30); do
                as_user "$uid" "$STOCKADE" run --connect "$SOCK" --request-id "$prefix-$i" -- "$@" >/dev/null 2>&1 </dev/null &
                pids[i]=$!
        done
        n0=0 n124=0 nother=0
        for i in $(seq 30); do
                wait "${pids[i]}"
                case $? in 0) n0=$((n0 + 1)) ;; 124) n124=$((n124 + 1)) ;; *) nother=$((nother + 1)) ;; esac
        done
}

records() { # records REQUEST_ID: the types of its records, in order
        "$STOCKADE" journal show --json --request-id "$1" --journal "$DJ" 2>/dev/null | jq -r .type | tr '\n' ' '
}

write_config
start_daemon
like "$(stat -c '%a %U %G' "$SOCK")" '^660 root nogroup$' "socket is 0660 root:nogroup"

# ---- an unprivileged caller gets what embedded mode gives
dsbx hello 65534 --request-id d-hello -- /probe exit 3
is "$RC" 3 "daemon: exit status mirrors the task (3)" || diag_file "$ERR"
is "$(jqget "$J" .exit.cause)" exit_nonzero "daemon: result JSON written by the client"
is "$(jqget "$J" '"\(.walls.uid) \(.walls.seccomp)"')" "200000 enforce" "daemon: the result's walls name the tenant's uid and the seccomp wall"
is "$(records d-hello | tr ' ' '\n' | grep -vx proc | tr '\n' ' ')" "admission start shape exit " \
        "daemon: admission, start, shape and exit records of the request"
is "$("$STOCKADE" journal show --json --request-id d-hello --journal "$DJ" | jq -r 'select(.type=="admission") | "\(.decision) \(.tenant) \(.via) \(.steps|length) \(.caller.uid)"')" \
        "allow agents stockaded 6 65534" "daemon: the admission record names tenant, caller and six steps"

dsbx out 65534 -- /bin/sh -c 'echo to-stdout; echo to-stderr >&2; exit 7'
D_RC=$RC D_OUT=$(cat "$OUT") D_ERR=$(grep -v '^stockade' "$ERR")
sbx eout --embedded -- /bin/sh -c 'echo to-stdout; echo to-stderr >&2; exit 7'
is "$D_RC/$D_OUT/$D_ERR" "$RC/$(cat "$OUT")/$(cat "$ERR")" "daemon and embedded: same status, stdout and stderr"

printf 'print-me\n' | setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" \
        -- /bin/cat >"$C/stdin.out" 2>"$C/stdin.err"
is "$?/$(cat "$C/stdin.out")" "0/print-me" "daemon: the caller's stdin reaches the task"

dsbx uid 65534 -- /probe ids
like "$(cat "$OUT")" 'uid=200000' "daemon: the task runs as the tenant's uid (200000)" || diag_file "$OUT"

mkdir -m 0777 "$C/wd" && chown 65534:65534 "$C/wd"
dsbx wd 65534 --workdir "$C/wd" -- /bin/sh -c 'pwd; echo made >file'
is "$RC/$(cat "$OUT")/$(cat "$C/wd/file" 2>/dev/null)" "0/$C/wd/made" "daemon: --workdir is bound read-write and the task starts there"
mkdir -m 0777 "$T/rootowned"
dsbx rwbind 65534 --bind "$T/rootowned:/x:rw" -- /bin/true
is "$RC" 124 "daemon: a read-write bind of a directory the caller does not own is refused"
like "$(cat "$ERR")" 'does not own' "daemon: the refusal says why"

dsbx oomadj 65534 -- /bin/cat /proc/self/oom_score_adj
is "$RC/$(cat "$OUT")" "0/1000" "daemon: the task is the OOM killer's first pick (oom_score_adj 1000), not its worker"
dsbx oom 65534 --memory 32M -- /probe alloc 200
is "$RC" 137 "daemon: a memory hog is killed (137)"
like "$(cat "$ERR")" 'out of memory' "daemon: the client prints why, like embedded mode"

# ---- observation: the daemon links the programs once; each worker's task
# is counted through those links and its events reach that worker alone
if command -v bpftool >/dev/null; then
        is "$(shape_links)" 4 "daemon: the four observation programs are linked once, by the daemon"
else
        skip "daemon: the four observation programs are linked once, by the daemon" "bpftool is missing"
fi
cat >"$T/burst.py" <<'EOF'
import os, sys, time
time.sleep(1)
for _ in range(int(sys.argv[1])):
    os.getppid()
EOF
CONC=()
for n in 3000 7000; do
        timeout -k 5 60 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
                "$STOCKADE" run --connect "$SOCK" --request-id "d-conc-$n" --bind "$T/burst.py:/burst.py" \
                --result-json "$C/conc-$n.json" -- python3 /burst.py "$n" >/dev/null 2>&1 </dev/null &
        CONC+=($!)
done
sleep 0.6
if command -v bpftool >/dev/null; then
        is "$(shape_links)" 4 "daemon: two observed tasks running, still only the daemon's links"
fi
wait "${CONC[@]}"
for n in 3000 7000; do
        got=$(jqget "$C/conc-$n.json" '[.shape.syscalls.top[] | select(.name == "getppid")][0].calls')
        num_ge "$got" "$n" "daemon: a concurrent task with $n getppid calls counts at least $n"
        num_le "$got" $((n + 50)) "daemon: ... and not the other task's"
        is "$("$STOCKADE" journal show --json --request-id "d-conc-$n" --journal "$DJ" |
                jq -r 'select(.type == "proc" and .event == "exec") | .argv | join(" ")' | grep burst.py)" \
                "python3 /burst.py $n" "daemon: request d-conc-$n's records hold the exec of its own script, once"
done

# ---- admission
dsbx refused 65534 --profile python -- /bin/true
is "$RC" 124 "refused profile: exit status 124" || diag_file "$ERR"
like "$(cat "$ERR")" "refused.*profile 'python'" "refused profile: the client says why"
rid=$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="admission" and .decision=="deny" and .step=="profile") | .request_id' | tail -n1)
like "$rid" '.' "refused profile: a deny admission record with step profile"

dsbx notenant 3 -- /bin/true
is "$RC" 124 "unknown caller (uid 3): refused with 124"
like "$(cat "$ERR")" 'no tenant' "unknown caller: the reason names it"

dsbx origin 65534 --code-origin vendor -- /bin/true
is "$RC" 124 "code origin 'vendor' not allowed: refused"

dsbx journalopt 65534 --journal /tmp -- /bin/true
is "$RC" 125 "--journal through the daemon: refused by the client (125)"
like "$(cat "$ERR")" 'configuration' "--journal: the client says the daemon's config owns it"

# ---- the socket is never visible inside
dsbx nosock 65534 -- /bin/sh -c "test -e '$SOCK' || test -e /run/stockade; echo \$?"
is "$(cat "$OUT")" 1 "the daemon's socket is not visible inside a sandbox"

# ---- signals and a vanished client
setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" --request-id d-term \
        -- sleep 30 >/dev/null 2>&1 </dev/null &
cpid=$!
sleep 1
# the task's worker works for the tenant: it sits in the tenant's subtree
wdir=$(find /sys/fs/cgroup -type d -path "*/stockade-$DPID-tenant-agents/workers" 2>/dev/null | head -n 1)
like "$(cat "$wdir/cgroup.procs" 2>/dev/null | wc -l)" '^[1-9]' "the worker of a running task is in its tenant's workers group ($wdir)"
kill -TERM "$cpid"
wait "$cpid"
is "$?" 143 "SIGTERM to the client reaches the task (143)"

setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" --request-id d-gone \
        -- sleep 30 >/dev/null 2>&1 </dev/null &
cpid=$!
sleep 1
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
for _ in $(seq 50); do
        [[ $(records d-gone) == *exit* ]] && break
        sleep 0.1
done
is "$("$STOCKADE" journal show --json --request-id d-gone --journal "$DJ" | jq -r 'select(.type=="exit") | .exit.cause')" \
        client_gone "a killed client: its task is killed and the exit record says client_gone"

# ---- bad clients: refused, journaled, the daemon unaffected
badclient() { # badclient MODE
        python3 - "$SOCK" "$1" <<'EOF'
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
m = sys.argv[2]
if m == "garbage":
    s.sendall(struct.pack(">I", 12) + b"not json!!!!")
elif m == "huge":
    s.sendall(struct.pack(">I", 100 * 1024 * 1024))
elif m == "half":
    s.sendall(struct.pack(">I", 400) + b'{"type":"run","argv"')
    s.close()
    sys.exit(0)
elif m == "noreq":
    s.sendall(struct.pack(">I", 2) + b"{}")
elif m == "stall":
    s.sendall(struct.pack(">I", 400))
    time.sleep(4.5)
s.settimeout(5)
try:
    hdr = s.recv(4)
    if len(hdr) == 4:
        body = s.recv(struct.unpack(">I", hdr)[0], socket.MSG_WAITALL)
        print(body.decode())
except Exception as e:
    print("no answer", e)
EOF
}
like "$(badclient garbage)" '"type":"refused".*bad request' "garbage: refused with a reason"
like "$(badclient huge)" '"type":"refused".*4 MiB' "a 100 MB length prefix: refused before reading it"
badclient half >/dev/null
like "$(badclient noreq)" '"type":"refused"' "a frame that is no request: refused"
like "$(badclient stall)" 'not complete within' "a stalled half request: refused at the request timeout"
n_bad=$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="admission" and .step=="protocol") | .reason' | wc -l)
num_ge "$n_bad" 5 "every bad client is on record ($n_bad protocol refusals)"
dsbx after 65534 -- /bin/true
is "$RC" 0 "after the bad clients the daemon still serves"

# ---- a burst of $BURST (200) with a concurrency quota of 4 (the tenant's max_concurrent)
burst_start=$(date +%s%N)
for i in $(seq "$BURST"); do
        setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" \
                --request-id "burst-$i" -- /bin/true >/dev/null 2>"$C/burst-$i.err" </dev/null &
        bp[i]=$!
done
fails=0 first_fail=""
for i in $(seq "$BURST"); do
        if ! wait "${bp[i]}"; then
                fails=$((fails + 1))
                first_fail=${first_fail:-$i}
        fi
done
[[ -n $first_fail ]] && diag_file "$C/burst-$first_fail.err" && diag_file "$T/daemon.log" 40
burst_ms=$((($(date +%s%N) - burst_start) / 1000000))
is "$fails" 0 "burst: all $BURST requests answered and run (${burst_ms} ms)"
maxc=$("$STOCKADE" journal show --json --journal "$DJ" |
        jq -rs '[.[] | select((.request_id // "") | startswith("burst-")) | select(.type=="start" or .type=="exit")]
                | sort_by(.seq) | reduce .[] as $r ({c:0,m:0}; if $r.type=="start" then .c+=1 | .m=([.m,.c]|max) else .c-=1 end) | .m')
num_le "$maxc" 4 "burst: never more than 4 running at once (max seen $maxc)"
num_ge "$maxc" 2 "burst: tasks did run in parallel (max seen $maxc)"
nexit=$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="exit" and ((.request_id // "") | startswith("burst-"))) | .request_id' | sort -u | wc -l)
is "$nexit" "$BURST" "burst: $BURST exit records, none lost"

# ---- ^C on a queued request withdraws it
for i in 1 2 3 4; do
        as_user 65534 "$STOCKADE" run --connect "$SOCK" --request-id "hold-$i" -- /bin/sleep 4 >/dev/null 2>&1 </dev/null &
        hold[i]=$!
done
# all four slots taken: their start records are there
for _ in $(seq 100); do
        [[ $("$STOCKADE" journal show --json --type start --journal "$DJ" | jq -r '.request_id' | grep -c '^hold-') == 4 ]] && break
        sleep 0.05
done
# setpriv itself, not as_user: $! must be the client, not a subshell
setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run -v --connect "$SOCK" --request-id d-withdrawn -- /bin/true >/dev/null 2>"$C/wd.err" </dev/null &
qp=$!
# -v says when the daemon has queued it
for _ in $(seq 100); do
        grep -q 'queued by stockaded' "$C/wd.err" 2>/dev/null && break
        sleep 0.05
done
kill -INT "$qp"
wait "$qp"
is "$?" 130 "^C on a queued request: the client exits 130" || diag_file "$C/wd.err"
is "$("$STOCKADE" journal show --json --request-id d-withdrawn --journal "$DJ" | jq -r '"\(.type) \(.decision) \(.step)"')" \
        "admission deny withdrawn" "^C on a queued request: withdrawn, on record, never run"
wait "${hold[@]}"

# ---- a burst of 30 at a tenant with one slot and no queue: each caller
# gets a run or a refusal, and every decision is on record
burst_outcomes 2 tb -- /bin/sleep 0.2
is "$nother" 0 "burst at a full tenant: every caller ran (0) or was refused (124) ($n0 ran, $n124 refused)"
num_ge "$n124" 1 "burst at a full tenant: the quota refused some"
ndec=$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="admission" and ((.request_id // "") | startswith("tb-"))) | .request_id' | sort -u | wc -l)
is "$ndec" 30 "burst at a full tenant: 30 admission decisions on record"

# ---- a burst of 30 at a tenant allowed 10 a minute: exactly 10 run
burst_outcomes 5 rt -- /bin/true
is "$n0/$n124/$nother" "10/20/0" "rate quota under a burst of 30: 10 ran, 20 refused, none lost"
is "$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="admission" and .decision=="deny" and ((.request_id // "") | startswith("rt-"))) | .reason' | grep -c 'rate quota')" \
        20 "rate quota: the 20 refusals on record name the rate"

# ---- tenant "tight": one slot, no queue, a 96 MiB subtree
as_user 2 "$STOCKADE" run --connect "$SOCK" --request-id tight-1 -- sleep 3 >/dev/null 2>&1 </dev/null &
tp=$!
sleep 0.7
dsbx tight2 2 -- /bin/true
is "$RC" 124 "tight: a second request while one runs is refused (quota)"
like "$(cat "$ERR")" 'max_concurrent 1' "tight: the reason names the quota"
wait "$tp"
dsbx tighthog 2 --memory 512M -- /probe alloc 200
is "$RC" 137 "tight: a task bounded only by its tenant's 96 MiB subtree is killed at it" || diag_file "$ERR"
dsbx agentsok 65534 --memory 512M -- /probe alloc 120
is "$RC" 0 "another tenant allocates 120 MiB unaffected"

# ---- tenant B stays fast while tenant A burns CPU at its ceiling
# B's p95 wall time of 15 short tasks, alone and beside A's 8 spinners
# (2 tasks x 4, each task allowed 2 cores). The subtrees have equal
# weights, so B keeps about half the machine; 3x + 150 ms is the bound.
b_p95() {
        local i s
        for i in $(seq 15); do
                dsbx bp 65534 -- /bin/true
                jqget "$J" .timings.wall_ms
        done | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.95 + 0.999); print a[i] }'
}
alone=$(b_p95)
for k in 1 2; do
        setpriv --reuid=4 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" --cpus 2 --timeout 60s --bind "$PROBE:/probe" -- /bin/sh -c \
                '/probe spin 30 & /probe spin 30 & /probe spin 30 & /probe spin 30 & wait' >/dev/null 2>&1 </dev/null &
        burn[k]=$!
done
sleep 1.5
beside=$(b_p95)
kill -INT "${burn[1]}" "${burn[2]}"
wait "${burn[1]}" "${burn[2]}"
diag "tenant B p95 wall: alone ${alone} ms, beside A's burn ${beside} ms"
num_le "$beside" "$(awk -v a="$alone" -v s="$SLACK_MS" 'BEGIN { print a * 3 + 150 + s }')" \
        "tenant B's p95 beside tenant A's CPU burn stays within 3x + 150 ms (${alone} -> ${beside} ms)"

# ---- SIGHUP: a broken config is refused and the old one stays; a good one applies
cp "$CONF" "$T/good.yaml"
printf 'tenants: [ {name: x\n' >"$CONF"
kill -HUP "$DPID"
sleep 0.5
like "$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="supervisor" and .event=="reload_refused") | .reason' | tail -n1)" \
        'stockaded.yaml' "SIGHUP with a broken config: refusal on record"
dsbx stillok 65534 -- /bin/true
is "$RC" 0 "after the refused reload the old config serves"
write_config python
kill -HUP "$DPID"
sleep 0.5
dsbx nowpython 65534 --profile python -- /bin/true
is "$RC" 0 "after a good reload the new profile is allowed" || diag_file "$ERR"

# ---- SIGTERM: running tasks are killed after the grace period, nothing is left
setpriv --reuid=65534 --regid=65534 --clear-groups "$STOCKADE" run --connect "$SOCK" --request-id d-shut \
        -- sleep 60 >/dev/null 2>"$C/shut.err" </dev/null &
cpid=$!
sleep 1
t0=$(now_ms)
kill -TERM "$DPID"
wait "$DPID"
drc=$?
t1=$(now_ms)
is "$drc" 0 "SIGTERM: stockaded exits 0"
num_le "$((t1 - t0))" $((6000 + SLACK_MS)) "SIGTERM: done within the 3 s grace plus cleanup ($((t1 - t0)) ms)"
wait "$cpid"
is "$?" 137 "SIGTERM: the task outliving the grace period was killed"
is "$("$STOCKADE" journal show --json --request-id d-shut --journal "$DJ" | jq -r 'select(.type=="exit") | .exit.cause')" \
        shutdown "SIGTERM: its exit record says shutdown"
check "SIGTERM: the socket is gone" test ! -e "$SOCK"
is "$("$STOCKADE" journal show --json --journal "$DJ" | jq -r 'select(.type=="supervisor") | .event' | tr '\n' ' ')" \
        "start reload_refused reload stop " "the daemon's life is on record"
verify_quiet() { "$STOCKADE" journal verify "$DJ" >/dev/null; }
check "the daemon's journal verifies" verify_quiet
BG_PIDS=()
assert_no_leftovers

done_testing
