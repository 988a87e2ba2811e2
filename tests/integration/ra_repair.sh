#!/bin/sh
# The RA's --repair on each bad state tests/integration/diagnose_states.sh
# makes, on each profile's virtual card: what cannot be put right (a key
# and certificate that do not match, a certificate without its key, an
# empty card) is left as it is with "ask your RA to cancel and re-issue";
# a key left by a renewal cut before its journal is removed; a renewal cut
# after its journal is finished; a damaged journal is set aside; a card
# with nothing wrong is left alone. A repaired card passes pkcs11-tool
# --test.
set -u
. tests/integration/card_host.inc

# Cases whose card only a re-issue helps: repair says so, changes nothing.
hopeless='. "$LIB"
    before=$(objects)
    expect 7 "ask your RA to cancel and re-issue" repair
    grep -q "nothing was changed" "$S/o" || fail "no word that nothing changed"
    [ "$(objects)" = "$before" ] || fail "--repair changed a card it cannot repair"'
# A repaired card: one working credential, pkcs11-tool --test passes.
healthy='one_credential
    p11test_passes "$CARDRENEW_PIN" || fail "pkcs11-tool --test: $(tail -n 5 "$S/t")"
    echo "ok   $PROFILE $CASE: pkcs11-tool --test --login on the repaired card: $(tail -n 1 "$S/t")"
    C --diagnose --pin-source env:CARDRENEW_PIN >"$S/d" 2>&1; rc=$?
    case $rc in 0|10) ;; *) fail "--diagnose after repair: exit $rc: $(cat "$S/d")" ;; esac
    if grep -v "expires in\|No problems" "$S/d" | grep -q .; then fail "--diagnose after repair: $(cat "$S/d")"; fi'
export hopeless healthy

for PROFILE in ${PROFILES:-O G}; do
    export PROFILE
    run mismatch --expires-in 15 --damage mismatch -- sh -c '. "$LIB"; eval "$hopeless"' sh
    run dangling --expires-in 15 --damage dangling -- sh -c '. "$LIB"; eval "$hopeless"' sh
    run empty --expires-in 15 --damage empty -- sh -c '. "$LIB"; eval "$hopeless"
        grep -q "empty" "$S/o" || fail "does not say empty"' sh
    run orphan-key --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=keygen-unsaved renew >/dev/null 2>&1
        [ "$(count "Private Key")" = 2 ] || fail "no orphan key made: $(objects)"
        echo n | expect 1 "not confirmed" script -qec "$B/cardrenew --repair --pin-source env:CARDRENEW_PIN" /dev/null
        [ "$(count "Private Key")" = 2 ] || fail "--repair acted without confirmation"
        expect 0 "a key with no certificate: removed" repair
        eval "$healthy"' sh
    run interrupted --expires-in 15 -- sh -c '. "$LIB"
        old=$(days_left)
        CARDRENEW_TEST_KILL_AT=journal renew >/dev/null 2>&1
        expect 7 "was interrupted" C --diagnose --pin-source env:CARDRENEW_PIN
        expect 0 "interrupted renewal is finished" repair
        [ "$(days_left)" -ge 729 ] || fail "not renewed: $(days_left) days (was $old)"
        eval "$healthy"' sh
    run pending-kept --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=keygen renew >/dev/null 2>&1
        C --repair --yes --pin-source env:CARDRENEW_PIN </dev/null >"$S/r" 2>&1
        grep -q "the new key of an unfinished renewal or enrollment: kept" "$S/r" ||
            fail "the journal'"'"'s pending key not marked kept: $(cat "$S/r")"
        eval "$healthy"' sh
    run damaged-journal --expires-in 15 -- sh -c '. "$LIB"
        CARDRENEW_TEST_KILL_AT=keygen-unsaved renew >/dev/null 2>&1
        mkdir -p "$XDG_STATE_HOME/cardrenew"
        printf "not a journal\n" >"$XDG_STATE_HOME/cardrenew/$(C --status --json | sed -n "s/.*\"serial\": \"\([^\"]*\)\".*/\1/p" | head -n 1).journal"
        expect 0 "moved to" repair
        ls "$XDG_STATE_HOME"/cardrenew/*.damaged-* >/dev/null || fail "not set aside"
        eval "$healthy"' sh
    run healthy --expires-in 15 -- sh -c '. "$LIB"
        before=$(objects)
        expect 0 "nothing to repair" repair
        [ "$(objects)" = "$before" ] || fail "a healthy card changed"' sh
done
[ $fails = 0 ] && echo PASS
