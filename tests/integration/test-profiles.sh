#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Profiles as users write them: seccomp policy (errno, kill, audit),
# secrets, output cap, rlimits, hidden paths, and every shipped profile
# running a real task of its kind.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

# unlike VALUE ERE DESC: VALUE does not match
unlike() {
        if [[ $1 =~ $2 ]]; then
                not_ok "$3"
                diag "unexpected: '$1' matches /$2/"
                return 1
        fi
        ok "$3"
}

PROFILES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../profiles" && pwd)

# ---- every shipped profile passes check and runs a task of its kind
check "profile check: every shipped profile is clean" "$STOCKADE" profile check "$PROFILES"/*.yaml

sbx p-default -- /bin/sh -c 'echo shell-ok'
expect_exit "default profile" 0 ok
is "$(jqget "$J" .profile.name)" default "default profile: used when none is given"
like "$(jqget "$J" .profile.sha256)" '^[0-9a-f]{64}$' "default profile: its SHA-256 is recorded"
is "$(jqget "$J" .walls.seccomp)" enforce "default profile: seccomp enforced"

sbx p-python --profile python -- python3 -c 'import json, sys; print(json.dumps({"v": sys.version_info[0]}))'
expect_exit "python profile" 0 ok
is "$(cat "$OUT")" '{"v": 3}' "python profile: python3 runs"
is "$(jqget "$J" .profile.name)" python "python profile: recorded"

if command -v node >/dev/null && [[ -x /usr/bin/node ]]; then
        sbx p-node --profile node -- node -e 'console.log(6 * 7)'
        expect_exit "node profile" 0 ok
        is "$(cat "$OUT")" 42 "node profile: node runs"
else
        skip "node profile" "no /usr/bin/node on this machine"
fi

printf 'echo "$((6 * 7))"\n' >"$T/job.sh"
sbx p-shell --profile shell "$T/job.sh"
expect_exit "shell profile" 0 ok
is "$(cat "$OUT")" 42 "shell profile: a script runs"

sbx p-batch --profile batch-data -- /bin/true
expect_exit "batch-data profile" 0 ok
is "$(jqget "$J" .profile.class)" batch "batch-data profile: class batch"
is "$(jqget "$J" .limits.memory_bytes)" $((4 << 30)) "batch-data profile: 4 GiB memory ceiling"

# An allowlist run plumbs a veth and host rules where the supervisor runs:
# in a network namespace of this test's own (test-network.sh goes further).
printf '#!/bin/sh\nexec unshare --net "%s" "$@"\n' "$STOCKADE" >"$T/stockade-netns"
chmod 0755 "$T/stockade-netns"
STOCKADE=$T/stockade-netns sbx p-net --profile net-allowlist-example --dns-upstream 127.0.0.1 -- /bin/true
expect_exit "net-allowlist-example profile" 0 ok
is "$(jqget "$J" .walls.network_requested)" allowlist "net-allowlist-example: the allowlist is recorded"
is "$(jqget "$J" .walls.network)" allowlist "net-allowlist-example: the egress wall is in force"
assert_no_leftovers "shipped profiles"

# ---- a profile denying socket() with a chosen errno
cat >"$T/nosock.yaml" <<'YAML'
version: 1
name: nosock
extends: python
seccomp:
  deny:
    - { syscall: socket, errno: EACCES }
YAML
sbx nosock --profile "$T/nosock.yaml" -- python3 -c '
import socket
try:
    socket.socket()
    print("socket=OK")
except OSError as e:
    print("socket=%d" % e.errno)'
expect_exit "socket denied" 0 ok
is "$(kv "$OUT" socket)" 13 "socket denied: socket.socket() fails with EACCES (13)"

# ---- default: kill, and the same policy in audit mode
cat >"$T/strict.yaml" <<'YAML'
version: 1
name: strict
seccomp:
  default: kill
  allow: ["@basic-io", "@file-system", "@process", "@signal", "@timer", "@ipc", ioctl, uname]
YAML
sbx kill --profile "$T/strict.yaml" -- /probe syscalls
is "$RC" 159 "default kill: the task dies by SIGSYS (159)" || show_run
is "$(jqget "$J" .exit.cause)" seccomp "default kill: cause seccomp"
is "$(jqget "$J" .exit.signal)" 31 "default kill: signal 31"

sed 's/^name: strict$/name: strict-audit\nmode: audit/' "$T/strict.yaml" >"$T/strict-audit.yaml"
sbx audit --profile "$T/strict-audit.yaml" -- /probe syscalls
expect_exit "audit mode" 0 ok
is "$(kv "$OUT" mount)" EPERM "audit mode: mount still fails for lack of privilege, not seccomp"
is "$(jqget "$J" .walls.seccomp)" audit "audit mode: recorded as audit"
is "$(jqget "$J" '[.audit.would_deny[] | select(.syscall == "mount")][0].would')" errno \
        "audit mode: mount is listed as refused with an errno (the baseline's deny)"
is "$(jqget "$J" '[.audit.would_deny[] | select(.syscall == "socket")][0].would')" kill \
        "audit mode: socket is listed as what the kill default would kill"
is "$(jqget "$J" '[.audit.would_deny[] | select(.syscall == "mount")][0].pid')" 2 \
        "audit mode: with the pid the task sees"
num_ge "$(jqget "$J" '[.audit.would_deny[] | select(.syscall == "bpf")][0].count')" 1 \
        "audit mode: bpf counted"
unlike "$(jqget "$J" '[.audit.would_deny[].syscall] | join(",")')" '(^|,)(read|write|openat)(,|$)' \
        "audit mode: allowed calls are not listed"
assert_no_leftovers "seccomp kill and audit"

# ---- secrets: named ones arrive, others do not, no value in any record
store=$T/store
mkdir -m 0700 "$store"
printf 'tok-%s\n' "$RANDOM$RANDOM" >"$store/api_token"
printf 'key-%s' "$RANDOM$RANDOM" >"$store/deploy_key"
printf 'other-%s' "$RANDOM$RANDOM" >"$store/not_named"
chmod 0600 "$store"/*
cat >"$T/secrets.yaml" <<'YAML'
version: 1
name: with-secrets
secrets:
  - { name: api_token, env: API_TOKEN }
  - { name: deploy_key, file: /run/secrets/deploy_key }
YAML
sbx secrets --profile "$T/secrets.yaml" --secret-store "$store" -- /bin/sh -c '
        echo "env=$API_TOKEN"
        echo "file=$(cat /run/secrets/deploy_key)"
        echo "list=$(ls /run/secrets | tr "\n" " ")"
        env | grep -c other- | sed "s/^/leaks=/"'
expect_exit "secrets" 0 ok
is "$(kv "$OUT" env)" "$(head -n 1 "$store/api_token")" "secrets: the env secret arrives"
is "$(kv "$OUT" file)" "$(cat "$store/deploy_key")" "secrets: the file secret arrives"
is "$(kv "$OUT" list)" "deploy_key " "secrets: only named secrets are in /run/secrets"
is "$(kv "$OUT" leaks)" 0 "secrets: an unnamed secret is not visible"
is "$(jqget "$J" '[.secrets[].name] | join(",")')" "api_token,deploy_key" "secrets: names recorded"
is "$(jqget "$J" '.secrets[0].sha256')" "$(sha256sum <"$store/api_token" | cut -d' ' -f1)" \
        "secrets: the SHA-256 of the value is recorded"
for f in api_token deploy_key not_named; do
        v=$(head -n 1 "$store/$f")
        if grep -qF -- "$v" "$J" "$ERR"; then
                not_ok "secrets: the value of $f appears in no record"
        else
                ok "secrets: the value of $f appears in no record"
        fi
done
chmod 0755 "$store"
sbx secrets-open --profile "$T/secrets.yaml" --secret-store "$store" -- /bin/true
is "$RC" 125 "secrets: a store others can read is refused" || show_run
like "$(cat "$ERR")" "mode 0700" "secrets: the refusal says how to fix it"
assert_no_leftovers "secrets"

# ---- output cap, rlimits, hidden paths
cat >"$T/small.yaml" <<'YAML'
version: 1
name: small
limits:
  output: 1KiB
  open_files: 64
filesystem:
  hide: [/etc/hostname]
YAML
sbx output --profile "$T/small.yaml" -- /bin/sh -c 'head -c 100000 /dev/zero | tr "\0" x; echo done >&2'
expect_exit "output cap" 0 ok
is "$(wc -c <"$OUT")" 1024 "output cap: the caller got exactly the cap"
is "$(jqget "$J" .output.bytes)" 100005 "output cap: every byte the task wrote is counted"
is "$(jqget "$J" .output.cut)" true "output cap: the cut is recorded"
like "$(cat "$ERR")" "output cut" "output cap: and reported"

sbx limits --profile "$T/small.yaml" -- /bin/sh -c 'echo nofile=$(ulimit -n); echo hostname=$(cat /etc/hostname 2>&1 | head -c 40)'
is "$(kv "$OUT" nofile)" 64 "open_files: the task's RLIMIT_NOFILE"
unlike "$(kv "$OUT" hostname)" "$(head -c 8 /etc/hostname)" "hide: a hidden file's content is not readable"

sbx override --profile "$T/small.yaml" --output-limit 0 -- /bin/sh -c 'head -c 5000 /dev/zero'
is "$(wc -c <"$OUT")" 5000 "the command line overrides the profile (--output-limit 0)"
assert_no_leftovers "output, rlimits, hide"

# ---- a broken profile is refused with file:line:column
printf 'version: 1\nname: broken\nlimits:\n  memroy: 1G\n' >"$T/broken.yaml"
sbx broken --profile "$T/broken.yaml" -- /bin/true
is "$RC" 125 "broken profile: exit 125"
like "$(cat "$ERR")" "broken.yaml:4:3: .*memroy" "broken profile: file:line:column names the key"
is "$(wc -l <"$ERR")" 1 "broken profile: one line"
check "broken profile: no result file" test ! -e "$J"
assert_no_leftovers "broken profile"

done_testing
