#!/bin/sh
# OpenSC's own iasecc driver against a personalised profile O virtual card
# on a private PC/SC stack: the ATR, listing, login, RSA-PKCS signing
# (checked with OpenSSL), decipher, a wrong PIN counted and cleared.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
export BUILD
VCARD=$BUILD/vcard
MOD=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
ATR=3b:dd:18:00:81:31:fe:45:80:f9:a0:00:00:00:77:01:08:00:07:90:00:fe

skip() { echo "$*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$VCARD" ] || skip "no $VCARD (make BUILD=... $VCARD)"
for t in opensc-tool pkcs15-tool pkcs11-tool openssl unshare pcscd; do
    command -v $t >/dev/null 2>&1 || skip "$t not installed"
done
[ -f "$MOD" ] || skip "no $MOD"

tmp=$(mktemp -d /tmp/vcard-opensc-o.XXXXXX) || exit 1
cleanup() {
    sh tests/vcard/stack stop "$tmp/st" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export VCARD_PIN=4821 VCARD_PUK=73920164 OPENSC_DRIVER=iasecc
img=$tmp/o.img
out=$("$VCARD" new --profile O --image "$img" --holder "Jane Example" 2>&1)
case "$out" in
*"not in this build"*)
    skip "profile O is not linked into $VCARD (a weak reference does not pull profile_o.o from libvcard.a)" ;;
esac
[ -f "$img" ] || fail "vcard new: $out"
"$VCARD" keygen --image "$img" --type rsa2048 --pubout "$tmp/pub.pem" ||
    fail "vcard keygen"

# A throwaway CA certifies the card's key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -subj "/CN=Throwaway CA" -days 2 2>/dev/null || fail "CA"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/dummy.key" \
    -subj "/CN=Jane Example" -out "$tmp/req.csr" 2>/dev/null || fail "CSR"
openssl x509 -req -in "$tmp/req.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -force_pubkey "$tmp/pub.pem" -days 2 -out "$tmp/user.pem" 2>/dev/null ||
    fail "certificate"
"$VCARD" install-cert --image "$img" --cert "$tmp/user.pem" || fail "install-cert"

unset VCARD_PIN VCARD_PUK
VCARD_TRACE=1 sh tests/vcard/stack start "$tmp/st" "$img" >"$tmp/stack.out" 2>&1 || {
    cat "$tmp/stack.out"
    grep -q "unshare\|Operation not permitted" "$tmp/stack.out" &&
        skip "cannot build a private PC/SC stack here"
    fail "stack start"
}
. "$tmp/st/env"

opensc-tool -a 2>&1 | grep -qi "$ATR" || fail "opensc-tool -a does not show the O ATR"
opensc-tool -n 2>&1 | grep -q "IAS-ECC" || fail "the iasecc driver did not bind"
echo "ok: ATR and iasecc driver"

pkcs15-tool --list-certificates >"$tmp/certs" 2>&1 || fail "pkcs15-tool: $(cat "$tmp/certs")"
grep -q "X.509 Certificate \[Jane Example\]" "$tmp/certs" || fail "certificate not listed"
grep -q "e828bd080ff2504f5420415750::3401" "$tmp/certs" || fail "certificate path"
id=$(awk '/ID/ {print $3; exit}' "$tmp/certs")
if command -v xxd >/dev/null 2>&1; then
    pkid=$(openssl x509 -in "$tmp/user.pem" -noout -modulus | sed 's/Modulus=//' |
           xxd -r -p | openssl dgst -sha1 | awk '{print $2}')
    [ "$id" = "$pkid" ] || fail "certificate ID $id is not SHA-1 of the modulus ($pkid)"
fi
pkcs15-tool --list-pins 2>&1 | grep -q "User PIN" || fail "PIN object not listed"
echo "ok: pkcs15-tool lists the certificate and the PIN"

pkcs11-tool --module "$MOD" -O >"$tmp/objs" 2>&1 || fail "pkcs11-tool -O: $(cat "$tmp/objs")"
grep -q "Certificate Object" "$tmp/objs" || fail "no certificate object"
grep -q "Public Key Object; RSA 2048 bits" "$tmp/objs" || fail "no public key object"
echo "ok: pkcs11-tool -O"

export P11PIN=4821 BADPIN=1111
if pkcs11-tool --module "$MOD" --login --pin env:BADPIN -O >/dev/null 2>&1; then
    fail "a wrong PIN logged in"
fi
grep -q "> 00 20 00 81 08" "$tmp/st/trace0" || fail "no padded VERIFY seen"
grep -q "< 63 C2" "$tmp/st/trace0" || fail "the wrong PIN was not counted (63 C2)"
pkcs11-tool --module "$MOD" --login --pin env:P11PIN -O >"$tmp/objs2" 2>&1 ||
    fail "login: $(cat "$tmp/objs2")"
grep -q "Private Key Object; RSA" "$tmp/objs2" || fail "no private key after login"
echo "ok: wrong PIN counted, right PIN logs in"

printf 'signed by a virtual Series 8 card' >"$tmp/data"
openssl dgst -sha256 -binary "$tmp/data" >"$tmp/hash"
printf '\060\061\060\015\006\011\140\206\110\001\145\003\004\002\001\005\000\004\040' |
    cat - "$tmp/hash" >"$tmp/di"
pkcs11-tool --module "$MOD" --login --pin env:P11PIN --sign --mechanism RSA-PKCS \
    --id "$id" -i "$tmp/di" -o "$tmp/sig" >"$tmp/sign.out" 2>&1 ||
    fail "sign: $(cat "$tmp/sign.out")"
openssl x509 -in "$tmp/user.pem" -pubkey -noout >"$tmp/upub.pem"
openssl pkeyutl -verify -pubin -inkey "$tmp/upub.pem" -in "$tmp/hash" \
    -sigfile "$tmp/sig" -pkeyopt digest:sha256 >/dev/null 2>&1 ||
    fail "the signature does not verify"
grep -q "> 00 88 00 00" "$tmp/st/trace0" || fail "no INTERNAL AUTHENTICATE seen"
echo "ok: RSA-PKCS signature verified by OpenSSL"

printf 'a session key' >"$tmp/pt"
openssl pkeyutl -encrypt -pubin -inkey "$tmp/upub.pem" -in "$tmp/pt" -out "$tmp/ct"
pkcs11-tool --module "$MOD" --login --pin env:P11PIN --decrypt --mechanism RSA-PKCS \
    --id "$id" -i "$tmp/ct" -o "$tmp/dec" >"$tmp/dec.out" 2>&1 ||
    fail "decrypt: $(cat "$tmp/dec.out")"
cmp -s "$tmp/pt" "$tmp/dec" || fail "decrypted text differs"
grep -q "> 10 2A 80 86" "$tmp/st/trace0" || fail "no chained PSO DECIPHER seen"
echo "ok: RSA-PKCS decipher (chained)"

export NEWPIN=97531 PUK=73920164
pkcs15-tool --change-pin --pin env:P11PIN --new-pin env:NEWPIN >"$tmp/chg" 2>&1 ||
    fail "change PIN: $(cat "$tmp/chg")"
pkcs11-tool --module "$MOD" --login --pin env:NEWPIN -O 2>&1 | grep -q "Private Key Object" ||
    fail "the new PIN does not log in"
pkcs15-tool --unblock-pin --puk env:PUK --new-pin env:P11PIN >"$tmp/unb" 2>&1 ||
    fail "unblock: $(cat "$tmp/unb")"
grep -q "> 00 2C 02 81" "$tmp/st/trace0" || fail "no RESET RETRY COUNTER seen"
pkcs11-tool --module "$MOD" --login --pin env:P11PIN -O 2>&1 | grep -q "Private Key Object" ||
    fail "the PIN set with the PUK does not log in"
echo "ok: PIN change, and unblock with the PUK"
exit 0
