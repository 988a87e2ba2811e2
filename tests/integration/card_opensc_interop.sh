#!/bin/sh
# What the card layer writes, OpenSC's own drivers read: on each profile,
# test_card_live renews the card's credential (new key, its certificate,
# the old one retired); then OpenSC (gemsafeV1 on G, iasecc on O) must list
# the new certificate and private key with the same CKA_ID and sign with it.
set -u
BUILD=${BUILD:-build}
export BUILD
V=$BUILD/vcard
T=$BUILD/tests/test_card_live
MOD=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for t in pcscd unshare openssl pkcs11-tool; do
    command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[ -f "$MOD" ] || { echo "skip: $MOD not installed"; exit 77; }
[ -x "$V" ] || { echo "skip: $V not built"; exit 77; }
[ -x "$T" ] || { echo "skip: $T not built"; exit 77; }
unshare --net true 2>/dev/null || { echo "skip: cannot unshare (need root)"; exit 77; }

tmp=$(mktemp -d /tmp/card-opensc.XXXXXX)
trap 'tests/vcard/stack stop "$tmp/stack" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$tmp/opensc.conf" <<'CONF'
app default {
    card_atr 3b:f9:18:00:00:81:31:fe:45:4a:43:4f:50:34:31:56:32:32:af {
        driver = "gemsafeV1";
        type = 21001;
    }
    framework pkcs15 { }
}
CONF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" \
    -out "$tmp/ca.pem" -subj /CN=Throwaway-CA -days 30 2>/dev/null || fail "CA"
echo "signed by the renewed key" >"$tmp/data"
openssl dgst -sha256 -binary "$tmp/data" >"$tmp/hash"

for P in G O; do
    img=$tmp/$P.img
    VCARD_PIN=12345678 "$V" new --profile $P --image "$img" --holder "Alice Example" ||
        fail "vcard new $P"
    "$V" keygen --image "$img" --type rsa2048 --pubout "$tmp/pub.pem" || fail "keygen"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/t.key" -out "$tmp/r.csr" \
        -subj "/CN=Alice Example" 2>/dev/null || fail "CSR"
    openssl x509 -req -in "$tmp/r.csr" -force_pubkey "$tmp/pub.pem" -CA "$tmp/ca.pem" \
        -CAkey "$tmp/ca.key" -CAcreateserial -days 700 -out "$tmp/cert.pem" 2>/dev/null ||
        fail "certificate"
    "$V" install-cert --image "$img" --cert "$tmp/cert.pem" || fail "install-cert"
    tests/vcard/stack start "$tmp/stack" "$img" || fail "stack start"
    (
        . "$tmp/stack/env"
        CARDRENEW_TEST_PIN=12345678 "$T" >"$tmp/live.$P" 2>&1 ||
            fail "test_card_live on $P: $(tail -5 "$tmp/live.$P")"
        if [ $P = G ]; then export OPENSC_CONF=$tmp/opensc.conf; else export OPENSC_DRIVER=iasecc; fi
        pkcs11-tool --module "$MOD" -O --type cert >"$tmp/certs.$P" 2>&1 ||
            fail "OpenSC lists no certificate on $P: $(cat "$tmp/certs.$P")"
        grep -q "CN=Renewed Holder" "$tmp/certs.$P" ||
            fail "OpenSC does not see the renewed certificate on $P: $(cat "$tmp/certs.$P")"
        grep -q "CN=Alice Example" "$tmp/certs.$P" &&
            fail "OpenSC still sees the retired certificate on $P"
        pkcs11-tool --module "$MOD" --login --pin 12345678 -O --type privkey \
            >"$tmp/keys.$P" 2>&1 || fail "OpenSC lists no key on $P"
        cid=$(sed -n 's/^ *ID: *//p' "$tmp/certs.$P" | head -1)
        kid=$(sed -n 's/^ *ID: *//p' "$tmp/keys.$P" | head -1)
        [ -n "$cid" ] && [ "$cid" = "$kid" ] ||
            fail "certificate ID '$cid' and key ID '$kid' differ on $P"
        pkcs11-tool --module "$MOD" --login --pin 12345678 --sign --mechanism RSA-PKCS \
            -i "$tmp/hash" -o "$tmp/sig.$P" >/dev/null 2>&1 || fail "OpenSC cannot sign on $P"
        pkcs11-tool --module "$MOD" --read-object --type cert --id "$cid" \
            -o "$tmp/new.$P.der" >/dev/null 2>&1 || fail "OpenSC cannot read the certificate"
        openssl x509 -inform DER -in "$tmp/new.$P.der" -pubkey -noout >"$tmp/new.$P.pub" ||
            fail "the certificate OpenSC read does not parse"
        openssl pkeyutl -verifyrecover -pubin -inkey "$tmp/new.$P.pub" -in "$tmp/sig.$P" \
            -out "$tmp/rec.$P" 2>/dev/null && cmp -s "$tmp/rec.$P" "$tmp/hash" ||
            fail "the signature does not verify with the renewed certificate on $P"
        echo "profile $P: OpenSC reads the renewed credential and signs"
    ) || exit 1
    tests/vcard/stack stop "$tmp/stack"
done
