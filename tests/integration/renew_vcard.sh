#!/bin/sh
# cardrenew renews the virtual card of each profile through our PKCS#11
# module, a real pcscd and the test CA (tests/sandbox): G exercises the
# SHA-1-only path, O the SHA-256 one. On each, a kill after the CA answered
# and after the certificate write is finished by the rerun, and the card
# ends with one credential valid for ~2 years.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
for t in "$B/cardrenew" "$B/cardrenew-pkcs11.so" "$B/vcard" "$B/cmp-test-ca"; do
    [ -e "$t" ] || { echo "skip: $t is not built"; exit 77; }
done
[ -f tests/sandbox ] || { echo "skip: tests/sandbox is missing"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

T=$(mktemp -d /tmp/renew-vcard.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
export BUILD CARDRENEW_MODULE="$B/cardrenew-pkcs11.so" PATH="$B:$PATH"
unset DBUS_SESSION_BUS_ADDRESS

for profile in G O; do
    export XDG_STATE_HOME="$T/state-$profile" XDG_CONFIG_HOME="$T/config"
    timeout 300 sh tests/sandbox --profile "$profile" --expires-in 20 -- sh -c '
        fail() { echo "FAIL ($0): $*"; exit 1; }
        cardrenew --check >/dev/null; rc=$?
        [ $rc = 10 ] || fail "--check before: exit $rc, want 10"
        for kill_at in cmp write; do
            CARDRENEW_TEST_KILL_AT=$kill_at cardrenew --renew --force --yes \
                --pin-source env:CARDRENEW_PIN >/dev/null 2>&1
            rc=$?
            [ $rc -ge 128 ] || fail "the kill hook at $kill_at did not fire (exit $rc)"
            cardrenew --status --json > "$CARDRENEW_SANDBOX/st.json" ||
                fail "--status after a kill at $kill_at"
            python3 -c "import json,sys; v=json.load(open(sys.argv[1])); assert len(v) >= 1, v" \
                "$CARDRENEW_SANDBOX/st.json" || fail "no certificate after a kill at $kill_at"
            cardrenew --renew --yes --pin-source env:CARDRENEW_PIN > "$CARDRENEW_SANDBOX/out" 2>&1 ||
                fail "rerun after a kill at $kill_at: $(cat "$CARDRENEW_SANDBOX/out")"
        done
        cardrenew --status --json > "$CARDRENEW_SANDBOX/st.json" || fail "--status"
        python3 - "$CARDRENEW_SANDBOX/st.json" <<PY || fail "after: $(cat "$CARDRENEW_SANDBOX/st.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 1, "want exactly one certificate"
assert v[0]["state"] == "Active" and 700 <= v[0]["days_left"] <= 740, v[0]
PY
        cardrenew --check >/dev/null || fail "--check after: exit $?"
        echo "ok: profile $0 renewed and resumed after kills"
        # Wrong PINs are never retried: each run spends one try, says when
        # few are left, and once blocked sends the holder to the RA.
        codes=""
        for i in 1 2 3 4 5 6; do
            BAD=00000000 cardrenew --renew --yes --pin-source env:BAD >/dev/null 2>&1
            rc=$?; codes="$codes $rc"
            [ $rc = 4 ] && break
            [ $rc = 3 ] || fail "wrong PIN: exit $rc, want 3 or 4"
        done
        case "$codes" in " 3"*" 4") ;; *) fail "wrong PINs gave exits$codes" ;; esac
        cardrenew --diagnose > "$CARDRENEW_SANDBOX/diag"; rc=$?
        [ $rc = 4 ] || fail "--diagnose on a blocked PIN: exit $rc"
        grep -q "blocked.*RA" "$CARDRENEW_SANDBOX/diag" || fail "diagnose: $(cat "$CARDRENEW_SANDBOX/diag")"
        cardrenew --renew --yes --pin-source env:CARDRENEW_PIN >/dev/null 2>&1; rc=$?
        [ $rc = 4 ] || fail "the right PIN on a blocked card: exit $rc, want 4"
        echo "ok: profile $0: wrong PINs exit$codes, then blocked"
    ' "$profile" || { echo "FAIL: profile $profile"; exit 1; }
done
echo PASS
