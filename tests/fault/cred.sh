#!/bin/sh
# Which complete credentials a PKCS#11 module sees on the card:
#   sh tests/fault/cred.sh MODULE DIR
# Every private key signs a fixed text (RSA-PKCS over its SHA-1 DigestInfo,
# which both profiles and OpenSC's iasecc driver do); every certificate whose public key verifies one of those signatures
# (openssl, not the module) is a working credential, whatever the CKA_IDs say.
# Prints "objects certs=N keys=M serial=S" and then one line per working
# credential: "cred DAYS_LEFT CERT_SERIAL". The PIN comes from CARDRENEW_PIN
# (pkcs11-tool reads it from there, not from argv). OPENSC_* in the
# environment choose OpenSC's driver. Exit 0 with at least one credential,
# 1 with none, 2 when the token cannot be read. DIR is scratch space.
set -u
M=$1 D=$2
mkdir -p "$D" && rm -f "$D"/c.* "$D"/s.* "$D"/k.* || exit 2
p11() { pkcs11-tool --module "$M" "$@" 2>>"$D/err"; }

serial=$(p11 -L | sed -n 's/^ *serial num *: *//p' | head -n 1)
p11 --login --pin env:CARDRENEW_PIN -O >"$D/objs" || { echo "cannot list objects"; exit 2; }
# One "<kind> <id>" line per object, in order.
awk '/^Certificate Object/ {k = "c"} /^Private Key Object/ {k = "k"}
     /^(Public Key|Data|Secret Key|Profile) / {k = ""}
     /^  ID:/ && k != "" {print k, $2; k = ""}' "$D/objs" >"$D/ids"
nc=$(grep -c '^c ' "$D/ids") nk=$(grep -c '^k ' "$D/ids")
echo "objects certs=$nc keys=$nk serial=$serial"

printf 'cardrenew fault matrix\n' >"$D/data"
{ printf '3021300906052b0e03021a05000414'; openssl dgst -sha1 -r "$D/data" | cut -c1-40; } |
    xxd -r -p >"$D/di"
i=0
grep '^c ' "$D/ids" | while read -r _ id; do
    i=$((i + 1))
    p11 --read-object --type cert --id "$id" -o "$D/c.$i.der" >/dev/null &&
        openssl x509 -inform DER -in "$D/c.$i.der" -pubkey -noout >"$D/c.$i.pub" 2>>"$D/err" ||
        echo "cannot read certificate $id" >>"$D/err"
done
i=0
grep '^k ' "$D/ids" | while read -r _ id; do
    i=$((i + 1))
    p11 --login --pin env:CARDRENEW_PIN --sign --mechanism RSA-PKCS \
        --id "$id" -i "$D/di" -o "$D/s.$i" >/dev/null ||
        echo "key $id does not sign" >>"$D/err"
done
n=0
for c in "$D"/c.*.pub; do
    [ -s "$c" ] || continue
    for s in "$D"/s.*; do
        [ -s "$s" ] || continue
        if openssl dgst -sha1 -verify "$c" -signature "$s" "$D/data" >/dev/null 2>&1; then
            der=${c%.pub}.der
            end=$(openssl x509 -inform DER -in "$der" -noout -enddate | sed 's/^notAfter=//')
            days=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
            cs=$(openssl x509 -inform DER -in "$der" -noout -serial | sed 's/^serial=//')
            echo "cred $days $cs"
            n=$((n + 1))
            break
        fi
    done
done
[ $n -gt 0 ]
