#!/bin/sh
# The RA's --enroll on each profile's virtual card, against the test CA:
# a wrong one-time secret changes nothing (and the right one then works);
# the CA locks a reference after 5 wrong secrets; an empty card gets its
# first certificate for the --subject given; an expired card refused
# by --renew (exit 5, naming --enroll) is re-issued to about 730 days and
# passes pkcs11-tool --test; an enrollment killed after each step is named
# by --diagnose and finished by a rerun with the same reference.
set -u
. tests/integration/card_host.inc

for PROFILE in ${PROFILES:-O G}; do
    export PROFILE
    run wrong-secret --expires-in 15 -- sh -c '. "$LIB"
        before=$(objects)
        old=$(openssl x509 -in "$S/cert.pem" -noout -serial)
        CARDRENEW_CA_SECRET=00112233445566778899aabbccddeeff \
            expect 6 "wrong one-time secret for reference $CARDRENEW_CA_REF (1 of 5 tries used)" enroll
        grep -q "nothing on the card changed" "$S/o" || fail "no word that nothing changed: $(cat "$S/o")"
        [ "$(objects)" = "$before" ] || fail "a wrong secret changed the card: $(objects)"
        [ ! -e "$XDG_STATE_HOME/cardrenew/"*.journal ] ||
            grep -q "^state=none" "$XDG_STATE_HOME"/cardrenew/*.journal || fail "journal left unfinished"
        expect 0 "(730 days)" enroll
        one_credential
        [ "$(days_left)" -ge 729 ] || fail "days left $(days_left)"
        id=$(objects | sed -n "s/^ *ID: *//p" | head -n 1)
        pkcs11-tool --module "$CARDRENEW_MODULE" --read-object --type cert --id "$id" \
            -o "$S/new.der" >/dev/null 2>&1 || fail "read the new certificate ($id): $(objects)"
        new=$(openssl x509 -inform DER -in "$S/new.der" -noout -serial)
        [ "$new" != "$old" ] || fail "the certificate was not replaced"
        subj() { openssl x509 "$@" -noout -subject -nameopt compat; }
        [ "$(subj -in "$S/cert.pem")" = "$(subj -inform DER -in "$S/new.der")" ] ||
            fail "the holder changed: $(subj -inform DER -in "$S/new.der")"
        expect 6 "unknown or already used" enroll' sh
    if [ "$PROFILE" = O ]; then
        run locked --expires-in 15 -- sh -c '. "$LIB"
            right=$CARDRENEW_CA_SECRET
            for i in 1 2 3 4 5; do
                CARDRENEW_CA_SECRET=ffeeddccbbaa99887766554433221100 \
                    expect 6 "($i of 5 tries used)" enroll
            done
            CARDRENEW_CA_SECRET=$right expect 6 "is locked after 5 wrong secrets" enroll
            one_credential' sh
    fi
    run expired --expires-in -1 -- sh -c '. "$LIB"
        expect 5 "cardrenew --enroll" renew
        expect 5 "cardrenew --enroll" renew --force
        expect 11 "cardrenew --enroll" C --check
        expect 5 "the RA uses cardrenew --enroll" C --diagnose --pin-source env:CARDRENEW_PIN
        expect 0 "now holds its new certificate" enroll
        d=$(days_left)
        [ "$d" -ge 729 ] && [ "$d" -le 730 ] || fail "re-issued to $d days, want about 730"
        echo "ok   $PROFILE $CASE: re-issued: $(C --status | tail -n 1)"
        one_credential
        expect 0 "Active" C --status
        p11test_passes "$CARDRENEW_PIN" || fail "pkcs11-tool --test on the re-issued card: $(tail -n 5 "$S/t")"
        echo "ok   $PROFILE $CASE: pkcs11-tool --test --login on the re-issued card: $(tail -n 1 "$S/t")"
        expect 0 "nothing to do" C --check' sh
    # A first issue onto an empty card: the holder's name must be given.
    run first-issue --expires-in 15 --damage empty -- sh -c '. "$LIB"
        expect 1 "give --subject" enroll
        expect 1 "is not a DN" enroll --subject "CN=New Holder"
        expect 0 "(730 days)" enroll --subject "/C=GB/O=NHS/CN=New Holder"
        one_credential
        expect 0 "New Holder" C --status
        expect 0 "No problems" C --diagnose --pin-source env:CARDRENEW_PIN' sh
    # Killed after each step, then rerun with the same reference.
    run interrupted --expires-in -1 -- sh -c '. "$LIB"
        for step in keygen-unsaved keygen cmp journal write verify retire; do
            new_secret
            CARDRENEW_TEST_KILL_AT=$step enroll >"$S/k" 2>&1 && fail "not killed at $step"
            case $step in
            keygen-unsaved) expect 7 "a key with no certificate" C --diagnose --pin-source env:CARDRENEW_PIN ;;
            *)  expect 7 "enrollment of this smartcard by the RA was interrupted" \
                    C --diagnose --pin-source env:CARDRENEW_PIN
                expect 7 "cardrenew --enroll again" renew --force ;;
            esac
            expect 0 "now holds its new certificate" enroll
            one_credential
            d=$(days_left)
            [ "$d" -ge 729 ] || fail "after a kill at $step: $d days"
            expect 0 "" C --diagnose --pin-source env:CARDRENEW_PIN
        done' sh
done
[ $fails = 0 ] && echo PASS
