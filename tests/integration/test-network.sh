#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The egress wall as a user relies on it: an allowlist is the only way out,
# enforced in the kernel, every decision journaled, nothing left behind.
#
# Topology (all test-owned, nothing touches the machine's own network):
#   H  a network namespace where the supervisor under test runs (nsenter),
#      so forwarding, veths and nft rules change only H
#   S  a "server" namespace linked to H by a veth: 100.127.255.1 (H) and
#      100.127.255.2 (S), fd00:5ec:ffff::1 / ::2; TCP servers, a UDP sink
#      and dnsmasq (the supervisor's upstream resolver) listen in S
# Tasks get their /30 and /64 from --net-pool 100.64.0.0/16,fd00:5ec:ade::/48.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

for tool in nsenter ip python3 dnsmasq nft bpftool; do
        command -v "$tool" >/dev/null || skip_all "$tool is needed"
done

REAL=$STOCKADE
SRV=100.127.255.2
SRV6=fd00:5ec:ffff::2

# ---- namespaces held by sleeping processes (no /run/netns mounts)
# (unshare execs sleep: $! is the process inside the new namespace)
unshare --net sleep 600 </dev/null >/dev/null 2>&1 &
HPID=$!
unshare --net sleep 600 </dev/null >/dev/null 2>&1 &
SPID=$!
BG_PIDS+=("$HPID" "$SPID")
for _ in $(seq 50); do
        [[ $(readlink "/proc/$HPID/ns/net") != "$(readlink /proc/self/ns/net)" &&
           $(readlink "/proc/$SPID/ns/net") != "$(readlink /proc/self/ns/net)" ]] && break
        sleep 0.05
done
inh() { nsenter -t "$HPID" -n "$@"; }
ins() { nsenter -t "$SPID" -n "$@"; }

inh ip link set lo up
ins ip link set lo up
inh ip link add stkt0 type veth peer name stkt1 netns "$SPID"
inh ip addr add 100.127.255.1/29 dev stkt0
inh ip -6 addr add fd00:5ec:ffff::1/64 dev stkt0 nodad
inh ip link set stkt0 up
ins ip addr add "$SRV/29" dev stkt1
ins ip -6 addr add "$SRV6/64" dev stkt1 nodad
ins ip link set stkt1 up
# IPv6 beyond the supervisor's host needs the host to forward IPv6 already
# (stockade never turns it on): the test's H does.
inh sysctl -qw net.ipv6.conf.all.forwarding=1

# ---- servers in S: TCP echo on 8080-8083 (logging the peer), UDP sink on 9999
cat >"$T/server.py" <<'EOF'
import socket, sys, threading, os
log = open(sys.argv[1], "a", buffering=1)
def tcp(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, peer = s.accept()
        log.write("tcp %d %s\n" % (port, peer[0]))
        d = c.recv(64)
        c.sendall(d)
        c.close()
def udp(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        d, peer = s.recvfrom(64)
        log.write("udp %d %s\n" % (port, peer[0]))
for p in (8080, 8081, 8082, 8083):
    threading.Thread(target=tcp, args=(socket.AF_INET, sys.argv[2], p), daemon=True).start()
    threading.Thread(target=tcp, args=(socket.AF_INET6, sys.argv[3], p), daemon=True).start()
threading.Thread(target=udp, args=(socket.AF_INET, sys.argv[2], 9999), daemon=True).start()
open(sys.argv[4], "w").close()
threading.Event().wait()
EOF
# Background processes are started with nsenter itself (it execs them, so $!
# is theirs) and away from the TAP stream, so that cleanup ends them.
nsenter -t "$SPID" -n python3 "$T/server.py" "$T/server.log" "$SRV" "$SRV6" "$T/server.ready" \
        </dev/null >/dev/null 2>"$T/server.err" &
BG_PIDS+=($!)
nsenter -t "$SPID" -n dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$SRV" --port=53 --user=root \
        --address=/allowed.test/"$SRV" --address=/other.test/"$SRV" --address=/wild.test/"$SRV" \
        --pid-file="$T/dnsmasq.pid" </dev/null >/dev/null 2>"$T/dnsmasq.err" &
BG_PIDS+=($!)
for _ in $(seq 50); do [[ -e $T/server.ready ]] && break; sleep 0.1; done
[[ -e $T/server.ready ]] || bail_out "the test servers did not start"

# Every run of this test: in H, with the test pool and resolver.
cat >"$T/stockade-in-h" <<EOF
#!/bin/sh
exec nsenter -t $HPID -n "$REAL" "\$@"
EOF
chmod 0755 "$T/stockade-in-h"
STOCKADE=$T/stockade-in-h
NETOPTS=(--net-pool 100.64.0.0/16,fd00:5ec:ade::/48 --dns-upstream "$SRV")

LINKS_BEFORE=$(bpftool link list 2>/dev/null | grep -c '^[0-9]')
PINS_BEFORE=$(find /sys/fs/bpf -maxdepth 2 2>/dev/null | sort)
# The programs are pinned and reused across supervisors, in the test's own
# cache (lib.sh), removed at the end.

# ---- profiles
profile() { # NAME MODE ALLOW-YAML...
        local name=$1 mode=$2
        shift 2
        {
                printf 'version: 1\nname: %s\nextends: default\nmode: %s\n' "$name" "$mode"
                printf 'network:\n  mode: allowlist\n  allow:\n'
                printf '    - %s\n' "$@"
        } >"$T/$name.yaml"
}
profile it-net enforce \
        "{ cidr: $SRV/32, ports: [8080], proto: tcp }" \
        "{ cidr: \"$SRV6/128\", ports: [8080], proto: tcp }" \
        "{ host: allowed.test, ports: [8082], proto: tcp }" \
        "{ host: \"*.wild.test\", ports: [8083], proto: tcp }"

# The task: one line per attempt, "NAME=ok" or "NAME=<errno name>".
cat >"$T/try.py" <<'EOF'
import errno, socket, sys
def out(name, f):
    try:
        r = f()
        print("%s=%s" % (name, "ok" if r is None else r))
    except OSError as e:
        print("%s=%s" % (name, errno.errorcode.get(e.errno, e.errno) if e.errno else type(e).__name__))
    except Exception as e:
        print("%s=%s" % (name, type(e).__name__))
def tcp(fam, host, port):
    def f():
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(b"ping")
        if s.recv(16) != b"ping":
            return "badecho"
        s.close()
    return f
def udp(host, port):
    def f():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", (host, port))
    return f
def resolve(name):
    def f():
        return socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    return f
for a in sys.argv[1:]:
    kind, _, rest = a.partition(":")
    if kind == "tcp4":
        h, p = rest.rsplit(":", 1); out(a, tcp(socket.AF_INET, h, int(p)))
    elif kind == "tcp6":
        h, p = rest.rsplit(":", 1); out(a, tcp(socket.AF_INET6, h, int(p)))
    elif kind == "udp":
        h, p = rest.rsplit(":", 1); out(a, udp(h, int(p)))
    elif kind == "resolve":
        out(a, resolve(rest))
    elif kind == "raw":
        out(a, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) and None)
    elif kind == "packet":
        out(a, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) and None)
    elif kind == "abstract":
        def f():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\0" + rest)
        out(a, f)
EOF

# A listener on an abstract AF_UNIX name in H, the supervisor's namespace.
nsenter -t "$HPID" -n python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind("\0stockade-it-abstract"); s.listen(1)
open(sys.argv[1], "w").close(); time.sleep(600)' "$T/abstract.ready" </dev/null >/dev/null 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 50); do [[ -e $T/abstract.ready ]] && break; sleep 0.1; done

# ---- one task, every kind of attempt
sbx main --profile "$T/it-net.yaml" "${NETOPTS[@]}" --request-id net-main --bind "$T/try.py:/try.py" -- \
        python3 /try.py \
        "tcp4:$SRV:8080" "tcp4:$SRV:8081" "udp:$SRV:9999" \
        "tcp6:::ffff:$SRV:8080" "tcp6:::ffff:$SRV:8081" "tcp6:$SRV6:8080" "tcp6:$SRV6:8081" \
        "tcp4:$SRV:8082" "resolve:allowed.test" "tcp4:$SRV:8082" "resolve:other.test" \
        "resolve:a.wild.test" "resolve:wild.test" \
        raw packet abstract:stockade-it-abstract
is "$RC" 0 "an allowlist task runs" || show_run
is "$(kv "$OUT" "tcp4:$SRV:8080")" ok "allowed TCP port connects and exchanges data"
is "$(kv "$OUT" "tcp4:$SRV:8081")" EPERM "the same host on another port: EPERM"
is "$(kv "$OUT" "udp:$SRV:9999")" EPERM "UDP sendto a denied destination: EPERM"
is "$(kv "$OUT" "tcp6:::ffff:$SRV:8080")" ok "::ffff:a.b.c.d is judged as a.b.c.d (allowed port)"
is "$(kv "$OUT" "tcp6:::ffff:$SRV:8081")" EPERM "::ffff:a.b.c.d is judged as a.b.c.d (denied port)"
is "$(kv "$OUT" "tcp6:$SRV6:8080")" ok "IPv6: allowed destination connects"
is "$(kv "$OUT" "tcp6:$SRV6:8081")" EPERM "IPv6: another port is denied"
is "$(sed -n "s/^tcp4:$SRV:8082=//p" "$OUT" | head -n 1)" EPERM "a hostname rule's address is closed before the name is resolved"
is "$(kv "$OUT" resolve:allowed.test)" "$SRV" "an allowed name resolves through the supervisor"
is "$(sed -n "s/^tcp4:$SRV:8082=//p" "$OUT" | tail -n 1)" ok "the answered address is open on the rule's port"
like "$(kv "$OUT" resolve:other.test)" '^(gaierror|EAI_|-?[0-9]+|socket)' "an unlisted name does not resolve"
is "$(kv "$OUT" resolve:a.wild.test)" "$SRV" "*.wild.test matches a subdomain"
like "$(kv "$OUT" resolve:wild.test)" '^(gaierror|EAI_|-?[0-9]+|socket)' "*.wild.test does not match the apex"
like "$(kv "$OUT" raw)" '^(EPERM|EACCES)$' "a raw socket is refused"
like "$(kv "$OUT" packet)" '^(EPERM|EACCES|EAFNOSUPPORT)$' "a packet socket is refused"
is "$(kv "$OUT" abstract:stockade-it-abstract)" ECONNREFUSED "an abstract AF_UNIX socket of the host is unreachable"
check "traffic leaves masqueraded as the supervisor's namespace" check "no denied connection reached the server" bash -c "! grep -q '^tcp 8081\|^udp 9999' '$T/server.log'"
is "$(jqget "$J" .walls.network)" allowlist "the result says the allowlist wall was in force"
is "$(jqget "$J" '.net.mode')" enforce "the net summary says enforce"
num_ge "$(jqget "$J" '.net.denied')" 5 "the kernel counted the denials"
num_ge "$(jqget "$J" '.net.allowed')" 3 "the kernel counted the allowed connects"
# 8081 was tried as a.b.c.d and as ::ffff:a.b.c.d: one destination, IPv4.
is "$(jqget "$J" '[.net.destinations[] | select(.port == 8081 and .address == "'$SRV'")][0].denied')" 2 \
        "the summary counts denials per destination"
num_ge "$(jqget "$J" '[.net.destinations[] | select(.port == 8080 and .address == "'$SRV'")][0].bytes_sent')" 100 \
        "the summary counts the bytes that left for an allowed destination"
num_ge "$(jqget "$J" '[.net.destinations[] | select(.port == 8080 and .address == "'$SRV'")][0].bytes_received')" 100 \
        "the summary counts the bytes that came back from it"
# The task's resolver asks each nameserver (gateway4, gateway6) in turn.
num_ge "$(jqget "$J" '.net.dns.refused')" 2 "the summary counts refused names"

# ---- the journal: every verdict under the request id
JD=$T/journal
# shellcheck disable=SC2317 # called through check
verified() { "$REAL" journal verify "$1" >/dev/null 2>&1; }
netrec() { cat "$JD"/journal-*.jsonl | jq -c --arg r "$1" "select(.type == \"net\" and .request_id == \$r) | $2"; }
is "$(netrec net-main "select(.port == 8080 and .address == \"$SRV\" and .verdict == \"allow\") | .rule" | head -n1)" \
        "\"$SRV/32\"" "journal: the allowed connect, with the rule that matched"
is "$(netrec net-main "select(.port == 8081 and .verdict == \"deny\") | .hook" | sort -u | tr '\n' ' ')" \
        '"connect4" "connect6" ' "journal: denied connects (IPv4 and IPv6 hooks)"
is "$(netrec net-main 'select(.port == 9999) | .verdict + " " + .hook')" '"deny sendmsg4"' "journal: the denied sendto"
is "$(netrec net-main 'select(.hook == "dns" and .name == "other.test") | .verdict' | sort -u)" '"refused"' \
        "journal: the refused name"
is "$(netrec net-main 'select(.hook == "dns" and .name == "allowed.test") | .rule')" '"allowed.test"' \
        "journal: the allowed name and its rule"
check "journal verifies" verified "$JD"

# ---- audit mode: decisions recorded, not enforced
profile it-audit audit "{ cidr: $SRV/32, ports: [8080], proto: tcp }"
sbx audit --profile "$T/it-audit.yaml" "${NETOPTS[@]}" --request-id net-audit --bind "$T/try.py:/try.py" -- \
        python3 /try.py "tcp4:$SRV:8081"
is "$(kv "$OUT" "tcp4:$SRV:8081")" ok "audit mode: a denied destination is reached" || show_run
is "$(netrec net-audit 'select(.port == 8081) | .verdict' | head -n1)" '"audit_deny"' \
        "audit mode: the journal says it would have been denied"

# ---- two concurrent tasks, two allowlists
profile it-a enforce "{ cidr: $SRV/32, ports: [8080], proto: tcp }"
profile it-b enforce "{ cidr: $SRV/32, ports: [8081], proto: tcp }"
CONC=()
for x in a b; do
        timeout -k 5 60 "$STOCKADE" run --profile "$T/it-$x.yaml" "${NETOPTS[@]}" --bind "$T/try.py:/try.py" -- \
                python3 -c 'import time, subprocess; time.sleep(0.5); subprocess.run(["python3", "/try.py", "tcp4:'$SRV':8080", "tcp4:'$SRV':8081"])' \
                >"$T/conc-$x.out" 2>"$T/conc-$x.err" </dev/null &
        CONC+=($!)
done
wait "${CONC[@]}"
is "$(kv "$T/conc-a.out" "tcp4:$SRV:8080") $(kv "$T/conc-a.out" "tcp4:$SRV:8081")" "ok EPERM" \
        "concurrent task A gets exactly its own allowlist"
is "$(kv "$T/conc-b.out" "tcp4:$SRV:8080") $(kv "$T/conc-b.out" "tcp4:$SRV:8081")" "EPERM ok" \
        "concurrent task B gets exactly its own allowlist"

# ---- mode none: only loopback
sbx none --request-id net-none -- /bin/sh -c "awk -F: 'NR > 2 { gsub(/ /, \"\", \$1); print \$1 }' /proc/net/dev"
is "$(tr '\n' ' ' <"$OUT")" "lo " "mode none: only lo"

# ---- nothing of the plumbing remains
# A task's veth goes with its namespace: the kernel removes it, batched,
# a few ms after the sandbox is gone.
for _ in $(seq 60); do
        (($(inh ip -o link show | grep -c ' stkv') == 0)) && break
        sleep 0.05
done
is "$(inh ip -o link show | grep -c ' stkv')" 0 "no veth remains"
is "$(inh ip -o addr show | grep -c '100\.64\.')" 0 "no pool address remains"
is "$(inh nft list tables 2>/dev/null | grep -c stockade)" 0 "no nft table remains"
is "$(bpftool link list 2>/dev/null | grep -c '^[0-9]')" "$LINKS_BEFORE" "no BPF link remains"
if [[ -n ${STOCKADE_BPF_DIR:-} ]]; then
        check "the programs were pinned in the test's cache" test -d "$STOCKADE_BPF_DIR"
        sbx cached --profile "$T/it-a.yaml" "${NETOPTS[@]}" -v -- /bin/true
        like "$(grep 'network wall ready' "$ERR")" 'cached' "a later supervisor reuses the pinned programs"
        rm -rf -- "$STOCKADE_BPF_DIR"
fi
is "$(find /sys/fs/bpf -maxdepth 2 2>/dev/null | sort)" "$PINS_BEFORE" "nothing is left pinned"

done_testing
