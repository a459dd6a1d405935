#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The journal as a responder relies on it: every run leaves admission,
# start and exit records under its request id, the chain verifies, any
# tampering is named, an independent script agrees, the task cannot reach
# it, and concurrent runs never break it.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016 # SC2016: inner scripts quoted on purpose
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

CONTRIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../contrib" && pwd)
JD=$T/jr

# verified DIR: stockade journal verify, quietly
# shellcheck disable=SC2317 # called through check
verified() { "$STOCKADE" journal verify "$1" >/dev/null 2>&1; }

# records TYPE REQUEST_ID: how many records of that type the request has
records() {
        cat "$JD"/journal-*.jsonl | jq -c --arg t "$1" --arg r "$2" 'select(.type == $t and .request_id == $r)' | wc -l
}

# ---- three runs, three request ids, each with its records
for i in 1 2 3; do
        sbx "run$i" --journal "$JD" --request-id "req-$i" -- /bin/sh -c "exit $i"
        is "$RC" "$i" "run $i: exit status $i"
done
for i in 1 2 3; do
        is "$(records admission "req-$i")" 1 "req-$i: one admission record"
        is "$(records start "req-$i")" 1 "req-$i: one start record"
        is "$(records exit "req-$i")" 1 "req-$i: one exit record"
done
is "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id == "req-2" and .type == "exit") | .exit.code')" 2 \
        "req-2: the exit record carries the task's code"
is "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id == "req-1" and .type == "admission") | .decision')" allow \
        "req-1: admission allowed"
like "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id == "req-1" and .type == "admission") | .profile.sha256')" \
        '^[0-9a-f]{64}$' "req-1: admission names the profile's SHA-256"
check "journal directory is 0700" test "$(stat -c %a "$JD")" = 700
check "verify: intact" verified "$JD"
if command -v python3 >/dev/null; then
        check "contrib/journal-verify.py: intact" bash -c 'python3 "$1" "$2" >/dev/null' _ "$CONTRIB/journal-verify.py" "$JD"
else
        skip "contrib/journal-verify.py: intact" "no python3"
fi

# ---- a refused admission is journaled with its reason
printf 'version: 1\nname: broken\nlimits:\n  memroy: 1G\n' >"$T/broken.yaml"
sbx refused --journal "$JD" --request-id req-refused --profile "$T/broken.yaml" -- /bin/true
is "$RC" 125 "refused: exit 125"
is "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id == "req-refused") | .decision')" deny \
        "refused: admission record says deny"
like "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id == "req-refused") | .reason')" 'broken.yaml:4:3' \
        "refused: with the reason"

# ---- the task can neither see nor write the journal
sbx reach --journal "$JD" -- /bin/sh -c "ls '$JD' >/dev/null 2>&1 && echo seen=yes || echo seen=no
        echo forged >> '$JD/journal-000001.jsonl' 2>/dev/null && echo wrote=yes || echo wrote=no"
is "$(kv "$OUT" seen)" no "the task cannot see the journal directory"
is "$(kv "$OUT" wrote)" no "the task cannot write to the journal"
check "verify: still intact after the task tried" verified "$JD"

# ---- tampering: each kind of damage is named
damaged() { # NAME: a writable copy of the journal
        rm -rf "${T:?}/${1:?}"
        cp -a "$JD" "$T/$1"
        chattr -R -a "$T/$1" 2>/dev/null
        echo "$T/$1"
}
seg() { local f; for f in "$1"/journal-*.jsonl; do echo "$f"; return; done; }
expect_damage() { # DIR KIND DESC
        local out rc
        out=$("$STOCKADE" journal verify "$1" 2>&1)
        rc=$?
        is "$rc" 1 "$3: verify fails"
        like "$out" "$2" "$3: verify names it '$2'"
        if command -v python3 >/dev/null; then
                python3 "$CONTRIB/journal-verify.py" "$1" >/dev/null 2>&1
                is "$?" 1 "$3: contrib/journal-verify.py agrees"
        fi
}
d=$(damaged edited)
f=$(seg "$d")
sed -i '3s/"type":"/"type":"x/' "$f"
expect_damage "$d" edited "an edited byte"
d=$(damaged deleted)
f=$(seg "$d")
sed -i '4d' "$f"
expect_damage "$d" deleted "a deleted line"
d=$(damaged swapped)
f=$(seg "$d")
sed -i -n '4{h;n;G;p;b};p' "$f"
expect_damage "$d" 'reordered|inserted|edited' "two swapped lines"
d=$(damaged truncated)
f=$(seg "$d")
truncate -s -7 "$f"
expect_damage "$d" truncated "a truncated tail"

# ---- replay: the recorded code and profile, again, in audit mode
RD=$T/replay
cat >"$T/keep.yaml" <<'YAML'
version: 1
name: keep
extends: default
keep_code: true
limits:
  output: 1MiB
YAML
printf 'echo "out $((6 * 7))"; echo "err" >&2\n' >"$T/job.sh"
sbx kept --journal "$RD" --profile "$T/keep.yaml" --request-id orig-1 "$T/job.sh"
expect_exit "recorded run" 0 ok
check "replay: the script was kept, by its hash" \
        test -s "$RD/code/$(sha256sum <"$T/job.sh" | cut -d' ' -f1)"
check "replay: the resolved profile was kept, by its hash" \
        test -s "$RD/profiles/$(jqget "$J" .profile.sha256).yaml"
"$STOCKADE" journal replay --journal "$RD" orig-1 >"$T/replay.out" 2>"$T/replay.err"
is "$?" 0 "replay: same outcome (exit 0)" || diag_file "$T/replay.err" 20
is "$(cat "$T/replay.out")" "out 42" "replay: the task ran again"
like "$(cat "$T/replay.err")" "stdout sha256 +$(jqget "$J" .output.stdout_sha256) +$(jqget "$J" .output.stdout_sha256)" \
        "replay: it reproduces the recorded output hash"
is "$(cat "$RD"/journal-*.jsonl | jq -r 'select(.type == "admission" and .reason == "replay of orig-1") | .decision')" allow \
        "replay: itself on record, as a replay"
is "$(cat "$RD"/journal-*.jsonl | jq -r 'select(.type == "audit") | .type' | head -n 1)" audit \
        "replay: ran in audit mode"
printf 'echo other\n' >"$T/other.sh"
sbx unkept --journal "$RD" --request-id orig-2 "$T/other.sh"
"$STOCKADE" journal replay --journal "$RD" orig-2 >/dev/null 2>"$T/replay2.err"
is "$?" 125 "replay without keep_code: refused"
like "$(cat "$T/replay2.err")" "not kept" "replay without keep_code: says why"
check "verify: intact with replays" verified "$RD"

# ---- concurrent runs never break the chain
pids=()
for w in 1 2 3 4 5 6 7 8; do
        (
                for k in 1 2 3; do
                        "$STOCKADE" run --journal "$JD" --request-id "par-$w-$k" -- /bin/true >/dev/null 2>&1
                done
        ) &
        pids+=($!)
done
for p in "${pids[@]}"; do
        wait "$p"
done
check "8 concurrent writers: verify intact" verified "$JD"
is "$(cat "$JD"/journal-*.jsonl | jq -r 'select(.request_id | tostring | startswith("par-")) | .type' | grep -c '^exit$')" 24 \
        "8 concurrent writers: every run's exit record is there"
seqs=$(cat "$JD"/journal-*.jsonl | jq -r '.seq' 2>/dev/null)
is "$(sort -n <<<"$seqs" | uniq | wc -l)" "$(wc -l <<<"$seqs")" "8 concurrent writers: no seq used twice"
assert_no_leftovers "journal"

done_testing
