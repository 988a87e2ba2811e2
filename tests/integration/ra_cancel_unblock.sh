#!/bin/sh
# The RA's --cancel and --unblock on each profile's virtual card:
# a cancelled certificate is revoked at the CA, --renew refuses it (even
# with --force) naming the reason and date, on this desktop from the local
# record and on another from the CA's refusal, --status shows "Cancelled
# on" (and JSON); profile O's PIN blocked by wrong tries is unblocked with
# the PUK (also by pkcs11-tool --init-pin --login-type so) and the new PIN
# works; profile G says the RA must re-issue.
set -u
. tests/integration/card_host.inc

for PROFILE in ${PROFILES:-O G}; do
    export PROFILE
    run cancel --expires-in 15 -- sh -c '. "$LIB"
        serial=$(openssl x509 -in "$S/cert.pem" -noout -serial | sed "s/serial=//")
        expect 1 "not an RFC 5280 reason" C --cancel --reason stolen --yes --pin-source env:CARDRENEW_PIN
        expect 1 "needs --reason" C --cancel --yes --pin-source env:CARDRENEW_PIN
        "$B/cmp-test-ca" list --dir "$S/ca" | grep -q "^$serial valid" || fail "not valid before"
        echo n | expect 1 "not confirmed" script -qec "$B/cardrenew --cancel --reason keyCompromise --pin-source env:CARDRENEW_PIN" /dev/null
        "$B/cmp-test-ca" list --dir "$S/ca" | grep -q "^$serial valid" || fail "cancelled without confirmation"
        expect 0 "is cancelled (keyCompromise)" C --cancel --reason keyCompromise --yes --pin-source env:CARDRENEW_PIN
        "$B/cmp-test-ca" list --dir "$S/ca" | grep -q "^$serial revoked" || fail "the CA did not revoke $serial"
        today=$(date -u +%d-%b-%Y)
        expect 6 "cancelled on $today (keyCompromise)" renew
        expect 6 "cancelled on $today (keyCompromise)" renew --force
        expect 0 "Cancelled on" C --status
        grep -q "cancelled $today" "$S/o" || fail "no cancelled row: $(cat "$S/o")"
        expect 0 "\"cancelled_on\": \"$(date -u +%Y-%m-%d)T" C --status --json
        grep -q "\"state\": \"cancelled\", \"cancelled_on\": \"[^\"]*\", \"cancel_reason\": \"keyCompromise\"" "$S/o" ||
            fail "JSON: $(cat "$S/o")"
        expect 6 "cancelled on $today" C --check
        expect 6 "cancelled on $today (keyCompromise)" C --diagnose --pin-source env:CARDRENEW_PIN
        grep -q "Run cardrenew --renew" "$S/o" && fail "--diagnose says to renew a cancelled card"
        # Another desktop (no local record): the CA refuses the kur.
        XDG_STATE_HOME=$S/other expect 6 "revoked" renew --force
        one_credential' sh
    if [ "$PROFILE" = O ]; then
        run unblock --expires-in 15 -- sh -c '. "$LIB"
            for i in 1 2 3; do pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin 999999 -O >/dev/null 2>&1; done
            expect 4 "blocked" C --diagnose
            expect 4 "blocked" renew
            NEWPIN=24680135 CARDRENEW_PUK=00000000 expect 3 "wrong PUK" \
                C --unblock --yes --puk-source env:CARDRENEW_PUK --new-pin-source env:NEWPIN
            NEWPIN=24680135 expect 0 "unblocked" \
                C --unblock --yes --puk-source env:CARDRENEW_PUK --new-pin-source env:NEWPIN
            pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin 24680135 --test >"$S/t" 2>&1 &&
                grep -q "No errors" "$S/t" || fail "the new PIN: $(tail -n 3 "$S/t")"
            echo "ok   $PROFILE $CASE: pkcs11-tool --test --login with the new PIN: No errors"
            # The same through OpenSC'"'"'s tool, the PKCS#11 way.
            for i in 1 2 3; do pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin 999999 -O >/dev/null 2>&1; done
            pkcs11-tool --module "$CARDRENEW_MODULE" --init-pin --login --login-type so \
                --so-pin "$CARDRENEW_PUK" --new-pin 11223344 >"$S/t" 2>&1 || fail "pkcs11-tool --init-pin: $(cat "$S/t")"
            pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin 11223344 -O >/dev/null 2>&1 ||
                fail "the PIN set by pkcs11-tool --init-pin does not log in"
            echo "ok   $PROFILE $CASE: pkcs11-tool --init-pin --login --login-type so unblocks"
            CARDRENEW_PIN=11223344 expect 10 "expires in 15 days" C --diagnose --pin-source env:CARDRENEW_PIN
            grep -q "blocked\|tries" "$S/o" && fail "still blocked: $(cat "$S/o")"; :' sh
    else
        run unblock --expires-in 15 -- sh -c '. "$LIB"
            for i in 1 2 3 4 5; do pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin 999999 -O >/dev/null 2>&1; done
            expect 4 "blocked" renew
            NEWPIN=24680135 CARDRENEW_PUK=00000000 expect 8 "has no PUK: its PIN cannot be unblocked; the RA must re-issue it" \
                C --unblock --yes --puk-source env:CARDRENEW_PUK --new-pin-source env:NEWPIN
            pkcs11-tool --module "$CARDRENEW_MODULE" --init-pin --login --login-type so \
                --so-pin 00000000 --new-pin 11223344 >"$S/t" 2>&1 && fail "G took an SO login"
            grep -q CKR_USER_TYPE_INVALID "$S/t" || fail "pkcs11-tool: $(cat "$S/t")"
            echo "ok   $PROFILE $CASE: C_Login(CKU_SO) answers CKR_USER_TYPE_INVALID"' sh
    fi
done
[ $fails = 0 ] && echo PASS
