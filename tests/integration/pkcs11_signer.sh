#!/bin/sh
# A long-lived PKCS#11 signer (test_pkcs11_signer) logged in once, signing
# every second while cardrenew renews the card in another process and
# then while the card is pulled and put back: every signature during the
# renewal succeeds with no second login and the new certificate is in use
# after it; once the card is back, one login and it signs again. Both
# profiles.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
export BUILD
for p in cardrenew cardrenew-pkcs11.so vcard cmp-test-ca tests/test_pkcs11_signer; do
    [ -f "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
for t in unshare pcscd; do
    command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }

T=$(mktemp -d /tmp/pkcs11-signer.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
unset DBUS_SESSION_BUS_ADDRESS
for P in G O; do
    export XDG_STATE_HOME="$T/state-$P" XDG_CONFIG_HOME="$T/config"
    M=$B/cardrenew-pkcs11.so
    CARDRENEW_TEST_RENEW="\"$B/cardrenew\" --renew --yes --quiet --module \"$M\" --ca \"\$CARDRENEW_CA_URL\" --ca-cert \"\$CARDRENEW_CA_CERT\" --pin-source env:CARDRENEW_PIN"
    CARDRENEW_TEST_SIGNER=1 CARDRENEW_MODULE=$M VCARD=$B/vcard \
        CARDRENEW_TEST_RENEW=$CARDRENEW_TEST_RENEW \
        timeout 300 sh tests/sandbox --profile "$P" -- "$B/tests/test_pkcs11_signer" >"$T/out" 2>&1
    rc=$?
    cat "$T/out"
    [ $rc -eq 0 ] && grep -q "PASSED.*1 test" "$T/out" || { echo "FAIL: profile $P"; exit 1; }
    echo "ok   profile $P"
done
