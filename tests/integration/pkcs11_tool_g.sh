#!/bin/sh
# The module as OpenSC's pkcs11-tool and GnuTLS's p11tool see it, on a
# personalised virtual card (tests/sandbox): slots, token, mechanisms,
# objects with and without login, pkcs11-tool --test, a signature with
# every advertised mechanism verified by openssl, on-card key generation
# and a certificate written for it, deciphering, NSS's view, and
# pkcs11-tool --moz-cert.
# Profile: PKCS11_PROFILE (G by default; pkcs11_tool_o.sh runs O).
# The PIN comes from the sandbox (CARDRENEW_PIN) and is never printed.
set -u
BUILD=${BUILD:-build}
export BUILD
P=${PKCS11_PROFILE:-G}

if [ "${1:-}" != --inner ]; then
    for t in pkcs11-tool p11tool openssl unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    out=$(mktemp /tmp/pkcs11-tool-test.XXXXXX)
    tests/sandbox --profile "$P" -- sh "$0" --inner >"$out" 2>&1
    rc=$?
    cat "$out"
    if [ $rc -eq 2 ] && grep -q "is not in this build" "$out"; then
        rm -f "$out"
        echo "skipped: profile $P is not in vcard yet"
        exit 77
    fi
    rm -f "$out"
    exit $rc
fi

# ---- inside the sandbox ----
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
M=$BUILD/cardrenew-pkcs11.so
T=$CARDRENEW_SANDBOX/p11
mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }
tool() { pkcs11-tool --module "$M" "$@"; }
toolpin() { tool --login --pin "$CARDRENEW_PIN" "$@"; }

tool -L >"$T/L" 2>&1 || fail "-L: $(cat "$T/L")"
grep -q "token label" "$T/L" || fail "no token: $(cat "$T/L")"
grep -q "token manufacturer : cardrenew" "$T/L" || fail "manufacturer: $(cat "$T/L")"
ok "-L: $(grep 'token label' "$T/L" | sed 's/ *token label *: //')"

tool -T >"$T/T" 2>&1 || fail "-T: $(cat "$T/T")"
grep -q "login required" "$T/T" && grep -q "PIN initialized" "$T/T" || fail "token flags: $(cat "$T/T")"
ok "-T: $(grep 'token flags' "$T/T" | sed 's/ *token flags *: //')"

tool -M >"$T/M" 2>&1 || fail "-M: $(cat "$T/M")"
case $P in
G) want="RSA-PKCS, SHA1-RSA-PKCS, RSA-PKCS-KEY-PAIR-GEN"; never="SHA256-RSA-PKCS ECDSA RSA-PKCS-PSS" ;;
O) want="RSA-PKCS, SHA1-RSA-PKCS, SHA256-RSA-PKCS, SHA384-RSA-PKCS, SHA512-RSA-PKCS, RSA-PKCS-PSS, SHA256-RSA-PKCS-PSS, ECDSA, ECDSA-SHA256, RSA-PKCS-KEY-PAIR-GEN, ECDSA-KEY-PAIR-GEN"; never="" ;;
esac
for m in $(echo "$want" | tr -d ,); do
    grep -q "^  $m, .*hw" "$T/M" || fail "mechanism $m missing or not CKF_HW: $(cat "$T/M")"
done
for m in $never; do
    grep -q "^  $m," "$T/M" && fail "mechanism $m offered by profile $P"
done
ok "-M: $want"

tool -O >"$T/O" 2>&1 || fail "-O: $(cat "$T/O")"
grep -q "Certificate Object" "$T/O" || fail "no certificate without login"
grep -q "Private Key Object" "$T/O" && fail "a private key is visible without login"
CARDRENEW_DEBUG=$T/trace toolpin -O >"$T/Ol" 2>&1 || fail "-O --login: $(cat "$T/Ol")"
grep -q "C_Login(session [0-9]*) -> CKR_OK" "$T/trace" || fail "CARDRENEW_DEBUG: no trace of C_Login"
grep -q "PIN length ${#CARDRENEW_PIN}" "$T/trace" || fail "CARDRENEW_DEBUG: no PIN length"
grep -qF "$CARDRENEW_PIN" "$T/trace" && fail "CARDRENEW_DEBUG: the PIN is in the trace"
grep -q "Private Key Object" "$T/Ol" || fail "no private key after login"
ID=$(grep -A5 "Certificate Object" "$T/O" | sed -n 's/^ *ID: *//p' | head -1)
[ -n "$ID" ] || fail "certificate has no CKA_ID"
grep -A5 "Private Key Object" "$T/Ol" | grep -q "ID: *$ID" || fail "private key does not share CKA_ID $ID"
ok "-O: certificate, public and private key share CKA_ID $ID; private hidden until login"

toolpin --test >"$T/test" 2>&1
if [ "$P" = G ]; then
    # G deciphers with 1024-bit keys only (short APDUs): CKM_RSA_PKCS says
    # ulMaxKeySize 1024 for CKF_DECRYPT and C_DecryptInit answers the
    # 2048-bit key CKR_KEY_SIZE_RANGE, which pkcs11-tool's decryption test
    # (its last) treats as fatal instead of reading ulMaxKeySize. Every
    # test before it must pass.
    grep -q "all 4 signature functions seem to work" "$T/test" || fail "--test: $(cat "$T/test")"
    grep -A3 "^Verify" "$T/test" | grep -q "SHA1-RSA-PKCS: OK" || fail "--test: $(cat "$T/test")"
    grep -q "ERR:" "$T/test" && fail "--test: $(cat "$T/test")"
    [ "$(grep -c "failed: rv" "$T/test")" -eq 1 ] &&
        grep -q "C_DecryptInit failed: rv = CKR_KEY_SIZE_RANGE" "$T/test" ||
        fail "--test: $(cat "$T/test")"
    ok "--test --login: signatures and verification pass; decryption with the 2048-bit key: CKR_KEY_SIZE_RANGE"
else
    grep -q "^No errors" "$T/test" || fail "--test: $(cat "$T/test")"
    ok "--test --login: No errors"
fi

tool --read-object --type cert --id "$ID" -o "$T/cert.der" >/dev/null 2>&1 || fail "read certificate"
openssl x509 -inform DER -in "$T/cert.der" -pubkey -noout >"$T/pub.pem" || fail "certificate parse"
head -c 1000 /dev/urandom >"$T/data"

# One signature per advertised signing mechanism, checked by openssl.
sigtest() { # mechanism, key id, public key PEM
    m=$1; id=$2; pub=$3
    in=$T/data; extra=
    case $m in
    RSA-PKCS)
        # a SHA-1 DigestInfo: G's card signs at most 36 bytes
        { printf '\060\041\060\011\006\005\053\016\003\002\032\005\000\004\024'; openssl dgst -sha1 -binary "$T/data"; } >"$T/di"
        in=$T/di ;;
    RSA-PKCS-PSS)
        openssl dgst -sha256 -binary "$T/data" >"$T/h256"; in=$T/h256
        extra="--hash-algorithm SHA256 --mgf MGF1-SHA256 --salt-len 32" ;;
    SHA256-RSA-PKCS-PSS) extra="--mgf MGF1-SHA256 --salt-len 32" ;;
    ECDSA) openssl dgst -sha256 -binary "$T/data" >"$T/h256"; in=$T/h256 ;;
    esac
    case $m in ECDSA*) extra="--signature-format openssl" ;; esac
    # shellcheck disable=SC2086
    toolpin --sign -m "$m" --id "$id" -i "$in" -o "$T/sig" $extra >"$T/sign.log" 2>&1 ||
        fail "sign $m: $(cat "$T/sign.log")"
    case $m in
    RSA-PKCS) openssl pkeyutl -verify -pubin -inkey "$pub" -in "$in" -sigfile "$T/sig" ;;
    SHA1-RSA-PKCS) openssl dgst -sha1 -verify "$pub" -signature "$T/sig" "$in" ;;
    SHA256-RSA-PKCS) openssl dgst -sha256 -verify "$pub" -signature "$T/sig" "$in" ;;
    SHA384-RSA-PKCS) openssl dgst -sha384 -verify "$pub" -signature "$T/sig" "$in" ;;
    SHA512-RSA-PKCS) openssl dgst -sha512 -verify "$pub" -signature "$T/sig" "$in" ;;
    RSA-PKCS-PSS) openssl pkeyutl -verify -pubin -inkey "$pub" -in "$in" -sigfile "$T/sig" \
        -pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256 -pkeyopt rsa_pss_saltlen:32 ;;
    SHA256-RSA-PKCS-PSS) openssl dgst -sha256 -verify "$pub" -signature "$T/sig" \
        -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "$in" ;;
    ECDSA) openssl pkeyutl -verify -pubin -inkey "$pub" -in "$in" -sigfile "$T/sig" ;;
    ECDSA-SHA256) openssl dgst -sha256 -verify "$pub" -signature "$T/sig" "$in" ;;
    *) fail "no check for $m" ;;
    esac >"$T/verify.log" 2>&1 || fail "openssl rejects the $m signature: $(cat "$T/verify.log")"
    ok "sign $m, verified by openssl"
}
for m in $(echo "$want" | tr -d ,); do
    case $m in *KEY-PAIR-GEN|ECDSA*) continue ;; esac
    sigtest "$m" "$ID" "$T/pub.pem"
done

# A new key made on the card, and a certificate written for it: the
# module gives the card's CKA_ID (SHA-1 of the public key).
# A template the card cannot honour is refused, and nothing is made:
# pkcs11-tool's default EC usage asks for CKA_DERIVE, which a key on
# these cards does not have; --usage-sign asks for what it has.
keyspec=rsa:2048
usage=
if [ "$P" = O ]; then
    keyspec=EC:prime256v1
    usage=--usage-sign
    tool -O --login --pin "$CARDRENEW_PIN" --type privkey >"$T/kb" 2>&1
    toolpin --keypairgen --key-type "$keyspec" --label "derive" >"$T/kgd0" 2>&1 &&
        fail "keypairgen with CKA_DERIVE made a key: $(cat "$T/kgd0")"
    grep -q CKR_TEMPLATE_INCONSISTENT "$T/kgd0" || fail "keypairgen with CKA_DERIVE: $(cat "$T/kgd0")"
    tool -O --login --pin "$CARDRENEW_PIN" --type privkey >"$T/ka" 2>&1
    cmp -s "$T/kb" "$T/ka" || fail "a refused keypairgen changed the card: $(cat "$T/ka")"
    ok "keypairgen asking for CKA_DERIVE: CKR_TEMPLATE_INCONSISTENT, nothing made"
fi
# shellcheck disable=SC2086
toolpin --keypairgen --key-type "$keyspec" $usage --label "renewed" --id 99 >"$T/kg" 2>&1 ||
    fail "keypairgen: $(cat "$T/kg")"
NID=$(sed -n 's/^ *ID: *//p' "$T/kg" | head -1)
[ -n "$NID" ] && [ "$NID" != 99 ] || fail "new key's CKA_ID: $(cat "$T/kg")"
grep -q "label: *renewed" "$T/kg" || fail "label not honoured: $(cat "$T/kg")"
tool --read-object --type pubkey --id "$NID" -o "$T/npub.der" >/dev/null 2>&1 || fail "read new public key"
openssl pkey -pubin -inform DER -in "$T/npub.der" -out "$T/npub.pem" || fail "new public key parse"
ok "keypairgen $keyspec: CKA_ID $NID, label kept"
if [ "$P" = O ]; then
    sigtest ECDSA "$NID" "$T/npub.pem"
    sigtest ECDSA-SHA256 "$NID" "$T/npub.pem"
fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj /CN=p11-test-CA -days 2 2>/dev/null || fail "throwaway CA"
openssl req -new -key "$T/ca.key" -subj "/CN=Renewed Holder" -out "$T/req.csr" 2>/dev/null || fail "CSR"
openssl x509 -req -in "$T/req.csr" -force_pubkey "$T/npub.pem" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -outform DER -out "$T/new.der" 2>/dev/null || fail "issue"
toolpin --write-object "$T/new.der" --type cert --id "$NID" --label renewed >"$T/w" 2>&1 ||
    fail "write certificate: $(cat "$T/w")"
tool -O --type cert >"$T/O2" 2>&1
[ "$(grep -c 'Certificate Object' "$T/O2")" -eq 2 ] || fail "new certificate not listed: $(cat "$T/O2")"
grep -q "ID: *$NID" "$T/O2" || fail "new certificate has another CKA_ID"
# A certificate for no key on the card is refused.
toolpin --write-object "$T/cert.der" --type cert --id 0102 >"$T/w2" 2>&1
tool -O --type cert >"$T/O3" 2>&1
[ "$(grep -c 'Certificate Object' "$T/O3")" -eq 2 ] || fail "certificate count changed"
ok "certificate written for the new key; one matching no key refused"

# Deciphering on the card (G's short APDUs carry a 1024-bit cryptogram).
bits=2048
[ "$P" = G ] && bits=1024
toolpin --keypairgen --key-type "rsa:$bits" --label decipher >"$T/kgd" 2>&1 || fail "keypairgen rsa:$bits: $(cat "$T/kgd")"
DID=$(sed -n 's/^ *ID: *//p' "$T/kgd" | head -1)
grep -A4 "Private Key Object" "$T/kgd" | grep -q "Usage:.*decrypt" || fail "rsa:$bits key cannot decrypt: $(cat "$T/kgd")"
tool --read-object --type pubkey --id "$DID" -o "$T/dpub.der" >/dev/null 2>&1 || fail "read rsa:$bits public key"
openssl pkey -pubin -inform DER -in "$T/dpub.der" -out "$T/dpub.pem" || fail "rsa:$bits public key parse"
echo "a message for the card alone" >"$T/plain"
openssl pkeyutl -encrypt -pubin -inkey "$T/dpub.pem" -in "$T/plain" -out "$T/crypt" || fail "encrypt"
toolpin --decrypt -m RSA-PKCS --id "$DID" -i "$T/crypt" -o "$T/deciphered" >"$T/dec.log" 2>&1 ||
    fail "decrypt: $(cat "$T/dec.log")"
cmp -s "$T/plain" "$T/deciphered" || fail "deciphered text differs"
ok "decrypt RSA-PKCS with an rsa:$bits key on the card"

p11tool --provider "$M" --list-all >"$T/p11tool" 2>&1 || fail "p11tool: $(cat "$T/p11tool")"
grep -q "Type: X.509 Certificate" "$T/p11tool" || fail "p11tool sees no certificate: $(cat "$T/p11tool")"
grep -q "manufacturer=cardrenew" "$T/p11tool" || fail "p11tool URL"
ok "p11tool --list-all: $(grep -c 'Type: X.509 Certificate' "$T/p11tool") certificates"

# NSS (which asks for the PKCS#11 3.0 interface first) lists the
# certificates with their keys: "u,u,u" marks a certificate with its key.
if command -v certutil >/dev/null && command -v modutil >/dev/null; then
    mkdir -p "$T/nss"
    (umask 077; printf '%s\n' "$CARDRENEW_PIN" >"$T/nss/pin")
    certutil -N -d "sql:$T/nss" --empty-password || fail "NSS database"
    modutil -dbdir "sql:$T/nss" -add cardrenew -libfile "$M" -force >"$T/nss/add" 2>&1 ||
        fail "modutil: $(cat "$T/nss/add")"
    certutil -L -h all -d "sql:$T/nss" -f "$T/nss/pin" </dev/null >"$T/nss/L" 2>&1
    [ "$(grep -c 'u,u,u' "$T/nss/L")" -ge 2 ] || fail "NSS sees no user certificates: $(cat "$T/nss/L")"
    certutil -K -h all -d "sql:$T/nss" -f "$T/nss/pin" </dev/null >"$T/nss/K" 2>&1
    grep -q "$ID" "$T/nss/K" || fail "NSS sees no private key $ID: $(cat "$T/nss/K")"
    ok "NSS: $(grep -c 'u,u,u' "$T/nss/L") user certificates with their keys"
fi

# Mozilla's flow as pkcs11-tool plays it: the key pair is made on the card;
# it then renames the key to an arbitrary CKA_ID and writes a certificate
# that matches no key, which a card whose CKA_ID is the key's hash cannot
# hold: the module must refuse that rename, and nothing else must change.
tool -O --login --pin "$CARDRENEW_PIN" >"$T/before" 2>&1
toolpin --session-rw --moz-cert "$T/cert.der" --id 01 --key-type rsa:2048 >"$T/moz" 2>&1
grep -q "Key pair generated" "$T/moz" || fail "--moz-cert keygen: $(cat "$T/moz")"
grep -q "C_SetAttributeValue(priv_key) failed: rv = CKR_ATTRIBUTE_READ_ONLY" "$T/moz" ||
    fail "--moz-cert: $(cat "$T/moz")"
ok "--moz-cert: key pair made on the card; CKA_ID rename refused (CKR_ATTRIBUTE_READ_ONLY)"
echo "all pkcs11-tool checks passed for profile $P"
