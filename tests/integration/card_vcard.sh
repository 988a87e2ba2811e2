#!/bin/sh
# The card layer's drivers (profiles G and O) against the virtual card through a
# real pcscd: open, read objects, a wrong PIN then the right one, sign and
# verify with OpenSSL, generate a key, write and read back its certificate,
# retire the old credential; then a reset by another PC/SC client and a
# removal and reinsertion, each reported once (build/tests/test_card_live does the work).
set -u
if [ $# -eq 0 ]; then  # both profiles, each in its own stack
    rc=0
    for P in G O; do
        sh "$0" $P
        case $? in 0) ;; 77) [ $rc -eq 0 ] && rc=77 ;; *) rc=1 ;; esac
    done
    exit $rc
fi
P=$1
BUILD=${BUILD:-build}
export BUILD
V=$BUILD/vcard
T=$BUILD/tests/test_card_live
for t in pcscd unshare openssl; do
    command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[ -x "$V" ] || { echo "skip: $V not built"; exit 77; }
[ -x "$T" ] || { echo "skip: $T not built"; exit 77; }
unshare --net true 2>/dev/null || { echo "skip: cannot unshare (need root)"; exit 77; }

tmp=$(mktemp -d /tmp/card-vcard.XXXXXX)
trap 'tests/vcard/stack stop "$tmp/stack" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if ! VCARD_PIN=12345678 VCARD_PUK=87654321 "$V" new --profile $P --image "$tmp/c.img" \
        --holder "Alice Example" 2>"$tmp/err"; then
    grep -q "not in this build" "$tmp/err" &&
        { echo "skip: the virtual card has no profile $P yet"; exit 77; }
    fail "vcard new: $(cat "$tmp/err")"
fi
"$V" keygen --image "$tmp/c.img" --type rsa2048 --pubout "$tmp/pub.pem" ||
    fail "vcard keygen"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" \
    -out "$tmp/ca.pem" -subj /CN=Throwaway-CA -days 30 2>/dev/null || fail "CA"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/t.key" \
    -out "$tmp/r.csr" -subj "/CN=Alice Example" 2>/dev/null || fail "CSR"
openssl x509 -req -in "$tmp/r.csr" -force_pubkey "$tmp/pub.pem" \
    -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 700 \
    -out "$tmp/cert.pem" 2>/dev/null || fail "certificate"
"$V" install-cert --image "$tmp/c.img" --cert "$tmp/cert.pem" ||
    fail "vcard install-cert"

tests/vcard/stack start "$tmp/stack" "$tmp/c.img" || fail "stack start"
. "$tmp/stack/env"
CARDRENEW_APDU_TRACE=$tmp/apdu.log CARDRENEW_TEST_PIN=12345678 CARDRENEW_TEST_PUK=87654321 \
    CARDRENEW_TEST_PROFILE=$P CARDRENEW_TEST_VCARD=$V "$T" || fail "test_card_live on profile $P"
# The trace shows the conversation but never the PIN.
grep -q '^> ' "$tmp/apdu.log" || fail "no APDU trace"
grep -qi '31 32 33 34 35 36 37 38\|38 37 36 35 34 33 32 31\|12 34 56 78 FF' "$tmp/apdu.log" &&
    fail "a PIN or PUK is in the APDU trace"
echo "profile $P: ok"
