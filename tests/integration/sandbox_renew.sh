#!/bin/sh
# The sandbox's purpose end to end: for each profile, cardrenew renews the
# sandbox card through the PKCS#11 module over CMP kur; the CA's database
# then holds a second certificate with the card's subject, for a new key.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    if [ ! -e "$B/$p" ]; then
        echo "skipped: $B/$p is not built"
        exit 77
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "skipped: the PC/SC stack needs root (unshare, bind mount)"
    exit 77
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config B
export CARDRENEW_MODULE=$B/cardrenew-pkcs11.so
cat >"$T/inside.sh" <<'INSIDE'
S=$CARDRENEW_SANDBOX
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$S/renew.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL cardrenew --renew exit $rc:"; cat "$S/renew.out"; exit 1; }
subj=$(openssl x509 -in "$S/cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
n=$("$B/cmp-test-ca" list --dir "$S/ca" | grep -c " $subj\$")
[ "$n" -eq 2 ] || { echo "FAIL the CA holds $n certificates for $subj, wanted 2"; exit 1; }
grep -q "kur: issued" "$S/ca.log" || { echo "FAIL no kur in the CA log"; exit 1; }
"$B/cardrenew" --status >"$S/status.out" 2>&1
grep -q " 730 " "$S/status.out" || { echo "FAIL status after renewal:"; cat "$S/status.out"; exit 1; }
echo "ok   renewed by kur: $subj"
INSIDE
fails=0
for prof in O G; do
    rm -rf "$T/state" "$T/config"
    if tests/sandbox --profile "$prof" --expires-in 15 -- sh "$T/inside.sh"; then
        echo "ok   profile $prof"
    else
        echo "FAIL profile $prof"
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ]
