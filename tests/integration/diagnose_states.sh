#!/bin/sh
# Every state cardrenew(1)'s --diagnose table names, made for real on each
# profile's virtual card, with what --diagnose, --check and --renew say of
# it: never "run --renew" where --renew refuses, never "no problems" where
# there is one, and nothing deleted that the CA has not replaced.
set -u
. tests/integration/card_host.inc
for PROFILE in O G; do
    export PROFILE
    run mismatch --expires-in 15 --damage mismatch -- sh -c '. "$LIB"
        expect 7 "do not match" diag
        before=$(objects)
        expect 7 "do not match" renew
        [ "$(objects)" = "$before" ] || fail "--renew changed the card"
        if [ "$PROFILE" = O ]; then expect 7 "diagnose" C --check; fi'
    run dangling --expires-in 15 --damage dangling -- sh -c '. "$LIB"
        if [ "$PROFILE" = O ]; then
            expect 7 "a key but no certificate" C --diagnose
            expect 7 "a key but no certificate" diag
        else
            expect 7 "no working key" diag
        fi
        expect 7 "" renew'
    run empty --expires-in 15 --damage empty -- sh -c '. "$LIB"
        expect 7 "shows no certificate" C --diagnose
        expect 7 "is empty" diag
        expect 7 "empty" C --check
        expect 7 "empty" renew'
    run expired --expires-in -1 -- sh -c '. "$LIB"
        expect 5 "has expired" diag
        expect 11 "RA renewal" C --check
        expect 5 "RA renewal" renew'
    run interrupted --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=keygen renew >/dev/null 2>&1
        expect 7 "was interrupted" diag
        expect 0 "now renewed" renew
        expect 0 "" diag'
    run orphan-key --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=keygen-unsaved renew >/dev/null 2>&1
        expect 7 "unfinished renewal" diag
        expect 0 "now renewed" renew
        [ "$(objects | grep -c "Private Key")" = 1 ] || fail "the unfinished key is still there"'
    run damaged-journal --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=journal renew >/dev/null 2>&1
        j=$(ls "$XDG_STATE_HOME"/cardrenew/*.journal)
        sed -i "s/^state=.*/state=written/" "$j"
        cp "$j" "$S/journal.copy"
        expect 9 "damaged (its checksum does not match)" diag
        before=$(objects)
        expect 9 "moved to" renew
        [ "$(objects)" = "$before" ] || fail "--renew changed the card with a damaged journal"
        aside=$(ls "$XDG_STATE_HOME"/cardrenew/*.damaged-*)
        cmp -s "$aside" "$S/journal.copy" || fail "the journal set aside is not the damaged one"
        expect 0 "now renewed" renew'
    # Two complete credentials of one subject, as an RA issues them (an
    # authentication and a signing key), no journal: --renew renews the
    # one due and deletes nothing the CA did not replace.
    run two-credentials --expires-in 15 -- sh -c '. "$LIB"
        p11() { pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin "$CARDRENEW_PIN" "$@" 2>/dev/null; }
        p11 --keypairgen --key-type rsa:2048 --label Signing >"$S/kg" || fail "keypairgen: $(cat "$S/kg")"
        id=$(sed -n "s/^ *ID: *//p" "$S/kg" | head -n 1)
        p11 --read-object --type pubkey --id "$id" -o "$S/pub.der" >/dev/null || fail "read pubkey"
        openssl pkey -pubin -inform DER -in "$S/pub.der" -out "$S/pub.pem"
        subj=$(openssl x509 -in "$S/cert.pem" -noout -subject -nameopt compat | sed "s/^subject=//")
        "$B/cmp-test-ca" issue --dir "$S/ca" --pubkey "$S/pub.pem" --subject "$subj" \
            --expires-in 300 --out "$S/sign.pem" >/dev/null 2>&1 || fail "issue"
        openssl x509 -in "$S/sign.pem" -outform DER -out "$S/sign.der"
        p11 --write-object "$S/sign.der" --type cert --id "$id" --label Signing >/dev/null ||
            fail "write the signing certificate"
        sign_serial=$(openssl x509 -in "$S/sign.pem" -noout -serial)
        expect 10 "2 certificates" diag
        r=$(renew 2>&1); rc=$?
        case $rc in
        0)  echo "$r" | grep -q "now renewed" || fail "$r"
            n=$(objects | grep -c "Certificate Object")
            [ "$n" = 2 ] || fail "$n certificates after renewing one of two"
            p11 --read-object --type cert --id "$id" -o "$S/after.der" >/dev/null ||
                fail "the signing credential is gone"
            [ "$(openssl x509 -inform DER -in "$S/after.der" -noout -serial)" = "$sign_serial" ] ||
                fail "the signing certificate changed"
            echo "ok   $PROFILE $CASE: the due credential renewed, the other kept" ;;
        7)  echo "$r" | grep -qi "room\|space\|fit" || fail "refused without saying why: $r"
            [ "$(objects | grep -c "Certificate Object")" = 2 ] || fail "a refusal deleted something"
            echo "ok   $PROFILE $CASE: refused with nothing deleted: $r" ;;
        *)  fail "--renew with two credentials: exit $rc: $r" ;;
        esac'
done
[ $fails = 0 ] && echo PASS
