#!/bin/sh
# OpenSC's own gemsafeV1 driver against the virtual G card: it must see the
# ATR, select the applet, list the certificate, and make a SHA-1 signature
# that OpenSSL verifies with the certificate's key.
set -u
BUILD=${BUILD:-build}
export BUILD
V=$BUILD/vcard
MOD=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for t in opensc-tool pkcs15-tool pkcs11-tool pcscd unshare openssl; do
    command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[ -f "$MOD" ] || { echo "skip: $MOD not installed"; exit 77; }
[ -x "$V" ] || { echo "skip: $V not built"; exit 77; }
unshare --net true 2>/dev/null || { echo "skip: cannot unshare (need root)"; exit 77; }

tmp=$(mktemp -d /tmp/vcard-opensc-g.XXXXXX)
trap 'tests/vcard/stack stop "$tmp/stack" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A personalised card: key made on the card, certified by a throwaway CA.
VCARD_PIN=12345678 "$V" new --profile G --image "$tmp/g.img" \
    --serial 0102030405060708090A || fail "vcard new"
"$V" keygen --image "$tmp/g.img" --type rsa2048 --pubout "$tmp/pub.pem" ||
    fail "vcard keygen"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" \
    -out "$tmp/ca.pem" -subj /CN=Throwaway-CA -days 30 2>/dev/null ||
    fail "CA"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/tmp.key" \
    -out "$tmp/req.csr" -subj "/CN=Alice Example" 2>/dev/null || fail "CSR"
openssl x509 -req -in "$tmp/req.csr" -force_pubkey "$tmp/pub.pem" \
    -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 730 \
    -out "$tmp/cert.pem" 2>/dev/null || fail "certificate"
"$V" install-cert --image "$tmp/g.img" --cert "$tmp/cert.pem" ||
    fail "vcard install-cert"
"$V" info --image "$tmp/g.img" | grep -q "cert=Alice Example" ||
    fail "vcard info does not show the certificate"
# A second card with an RSA 1024 key, for decipher: a 2048-bit cryptogram
# does not fit the short APDUs of G.
VCARD_PIN=12345678 "$V" new --profile G --image "$tmp/g2.img" || fail "vcard new 2"
"$V" keygen --image "$tmp/g2.img" --type rsa1024 --pubout "$tmp/pub2.pem" ||
    fail "vcard keygen 2"
openssl x509 -req -in "$tmp/req.csr" -force_pubkey "$tmp/pub2.pem" \
    -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 730 \
    -out "$tmp/cert2.pem" 2>/dev/null || fail "certificate 2"
"$V" install-cert --image "$tmp/g2.img" --cert "$tmp/cert2.pem" ||
    fail "vcard install-cert 2"

cat >"$tmp/opensc.conf" <<'CONF'
app default {
    card_atr 3b:f9:18:00:00:81:31:fe:45:4a:43:4f:50:34:31:56:32:32:af {
        driver = "gemsafeV1";
        type = 21001;
    }
    framework pkcs15 { }
}
CONF

VCARD_TRACE=1 tests/vcard/stack start "$tmp/stack" "$tmp/g.img" "$tmp/g2.img" ||
    fail "stack start"
. "$tmp/stack/env"
export OPENSC_CONF=$tmp/opensc.conf

opensc-tool -a >"$tmp/atr" 2>&1 || fail "opensc-tool -a: $(cat "$tmp/atr")"
grep -qi '3b:f9:18:00:00:81:31:fe:45:4a:43:4f:50:34:31:56:32:32:af' "$tmp/atr" ||
    fail "ATR: $(cat "$tmp/atr")"
echo "ATR ok"
opensc-tool -s 00:A4:04:00:0C:A0:00:00:00:18:0A:00:00:01:63:42:00 >"$tmp/sel" 2>&1
grep -q 'SW1=0x90, SW2=0x00' "$tmp/sel" || fail "select applet: $(cat "$tmp/sel")"
echo "select ok"

pkcs15-tool --list-certificates >"$tmp/certs" 2>&1 || fail "pkcs15-tool: $(cat "$tmp/certs")"
grep -q 'X.509 Certificate' "$tmp/certs" || fail "no certificate listed: $(cat "$tmp/certs")"
pkcs15-tool --read-certificate 45 >"$tmp/read.pem" 2>/dev/null ||
    fail "pkcs15-tool --read-certificate"
[ "$(openssl x509 -in "$tmp/read.pem" -noout -fingerprint)" = \
  "$(openssl x509 -in "$tmp/cert.pem" -noout -fingerprint)" ] ||
    fail "certificate read back differs"
echo "certificate listed and read back"

printf 'data to sign\n' >"$tmp/data"
# The PIN reaches pkcs11-tool through the environment, never argv.
TEST_PIN=12345678 pkcs11-tool --module "$MOD" --login --pin env:TEST_PIN --sign \
    --mechanism SHA1-RSA-PKCS -i "$tmp/data" -o "$tmp/sig" >"$tmp/sign.log" 2>&1 ||
    fail "pkcs11-tool --sign: $(cat "$tmp/sign.log")"
openssl x509 -in "$tmp/cert.pem" -pubkey -noout >"$tmp/cpub.pem"
openssl dgst -sha1 -verify "$tmp/cpub.pem" -signature "$tmp/sig" "$tmp/data" ||
    fail "signature does not verify"
# The trace must not hold the PIN's BCD block.
grep -q '12 34 56 78 FF' "$tmp/stack/trace0" && fail "PIN in the trace"
grep -q '00 20 00 01 08 \[8 bytes masked\]' "$tmp/stack/trace0" ||
    fail "no masked VERIFY in the trace"
echo "signature verified"

printf 'a session key\n' >"$tmp/plain"
openssl pkeyutl -encrypt -pubin -inkey "$tmp/pub2.pem" -in "$tmp/plain" \
    -out "$tmp/crypt" -pkeyopt rsa_padding_mode:pkcs1 || fail "encrypt"
TEST_PIN=12345678 pkcs11-tool --module "$MOD" --slot-index 1 --login \
    --pin env:TEST_PIN --decrypt --mechanism RSA-PKCS -i "$tmp/crypt" \
    -o "$tmp/dec" >"$tmp/dec.log" 2>&1 || fail "pkcs11-tool --decrypt: $(cat "$tmp/dec.log")"
cmp -s "$tmp/plain" "$tmp/dec" || fail "decipher gave something else"
grep -q '80 2A 80 84 80' "$tmp/stack/trace1" || fail "no decipher APDU in the trace"
echo "decipher ok (second card, RSA 1024)"
tests/vcard/stack stop "$tmp/stack"
"$V" info --image "$tmp/g.img" | grep -q 'pin_tries 3' || fail "PIN tries"
echo "PASS"
