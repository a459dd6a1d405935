#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Bad input: exit 125, ONE line "stockade: <problem>; <fix hint>" on stderr,
# nothing on stdout, nothing left behind.  Also: refusing to run as non-root.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tap_begin

# bad_input DESC ARGS...: runs "stockade run --result-json F ARGS..."
bad_input() {
        local desc=$1 n line
        shift
        OUT=$T/bad.out
        ERR=$T/bad.err
        J=$T/bad.json
        rm -f -- "$OUT" "$ERR" "$J"
        timeout -k 5 30 "$STOCKADE" run --result-json "$J" "$@" >"$OUT" 2>"$ERR" </dev/null
        RC=$?
        ELAPSED_MS=0
        is "$RC" 125 "$desc: exit status 125" || diag_file "$ERR"
        n=$(grep -c '' "$ERR")
        is "$n" 1 "$desc: exactly one line on stderr" || diag_file "$ERR"
        line=$(head -n 1 "$ERR")
        like "$line" '^stockade: .+; .+' "$desc: message is 'stockade: <problem>; <fix hint>'"
        is "$(head -c 200 "$OUT")" "" "$desc: nothing on stdout"
        # JSON is optional for errors found while parsing; when written, it says so
        if [[ -e $J ]]; then
                is "$(jqget "$J" .exit.cause),$(jqget "$J" .exit.status)" setup_error,125 \
                        "$desc: result JSON (written) says setup_error, 125"
        else
                ok "$desc: result JSON (not written for a parse error)"
        fi
        assert_no_leftovers "$desc"
}

bad_input "unknown option" --frobnicate -- /bin/true
bad_input "--memory 12XB" --memory 12XB -- /bin/true
bad_input "--memory -1" --memory -1 -- /bin/true
bad_input "--cpus abc" --cpus abc -- /bin/true
bad_input "--timeout 5parsecs" --timeout 5parsecs -- /bin/true
bad_input "--pids abc" --pids abc -- /bin/true
bad_input "missing command (run --)" --timeout 5s --
bad_input "missing command (run)" --timeout 5s
bad_input "--bind /nonexistent" --timeout 5s --bind /nonexistent-stockade-it -- /bin/true
bad_input "--request-id 'bad id'" --timeout 5s --request-id 'bad id' -- /bin/true
long=$(printf 'a%.0s' $(seq 129))
bad_input "--request-id of 129 characters" --timeout 5s --request-id "$long" -- /bin/true
bad_input "--setenv without '='" --timeout 5s --setenv NOVALUE -- /bin/true

# control: the same options, well-formed, do run
sbx good --memory 12M --cpus 0.5 --pids 16 --timeout 5s --request-id "${long:1}" -- /bin/true
expect_exit "well-formed options" 0 ok
assert_no_leftovers "well-formed options"

# ---- not root
if ! command -v setpriv >/dev/null; then
        skip "not root: refused with 125" "setpriv (util-linux) not installed"
elif ! setpriv --reuid 65534 --regid 65534 --clear-groups test -x "$STOCKADE"; then
        skip "not root: refused with 125" "$STOCKADE is not executable by uid 65534"
else
        timeout -k 5 30 setpriv --reuid 65534 --regid 65534 --clear-groups \
                "$STOCKADE" run --timeout 5s -- /bin/true >"$T/nr.out" 2>"$T/nr.err" </dev/null
        RC=$?
        is "$RC" 125 "not root: exit status 125" || diag_file "$T/nr.err"
        is "$(grep -c '' "$T/nr.err")" 1 "not root: exactly one line on stderr"
        like "$(cat "$T/nr.err")" '^stockade: .*root' "not root: the message mentions root"
        assert_no_leftovers "not root"
fi

done_testing
