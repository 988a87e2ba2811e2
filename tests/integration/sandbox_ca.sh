#!/bin/sh
# The sandbox's CA side, seen from inside the command: the exported URL,
# root and one-time secret work with the openssl cmp client; the card's
# certificate is in the CA's database and expires in the requested days;
# CARDRENEW_CA_CONTROL switches misbehaviour; killing CARDRENEW_CA_PID
# leaves the sandbox able to clean up.
set -u
BUILD=${BUILD:-build}
for p in vcard cmp-test-ca; do
    if [ ! -x "$BUILD/$p" ]; then
        echo "skipped: $BUILD/$p is not built"
        exit 77
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "skipped: the PC/SC stack needs root (unshare, bind mount)"
    exit 77
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/inside.sh" <<'INSIDE'
fails=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
S=$CARDRENEW_SANDBOX
hostport=${CARDRENEW_CA_URL#http://}; hostport=${hostport%%/*}
cmp() {
    openssl cmp -server "$hostport" -path /.well-known/cmp -trusted "$CARDRENEW_CA_CERT" \
        -msg_timeout 5 "$@" >"$S/out" 2>&1
}
[ -n "$CARDRENEW_PIN" ] && ok "a PIN is exported" || bad "no CARDRENEW_PIN"
# The card certificate: in the database, valid, expiring in 9 days
serial=$(openssl x509 -in "$S/cert.pem" -noout -serial | cut -d= -f2)
"$BUILD_CA" list --dir "$S/ca" | grep -q "^$serial valid .*/CN=Test User [0-9]\{12\}$" \
    && ok "card certificate $serial recorded with a Test User subject" || bad "card certificate not in the database"
end=$(date -d "$(openssl x509 -in "$S/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
left=$(( (end - $(date +%s) + 3600) / 86400 ))
[ "$left" -eq 9 ] && ok "card certificate expires in 9 days" || bad "expires in $left days"
[ "$(openssl pkey -pubin -in "$S/pub.pem")" = "$(openssl x509 -in "$S/cert.pem" -noout -pubkey)" ] \
    && ok "certificate is for the card's key" || bad "certificate key differs from the card key"
# The one-time secret works once
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$S/k.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$S/k2.pem" 2>/dev/null
cmp -cmd ir -ref "$CARDRENEW_CA_REF" -secret "env:CARDRENEW_CA_SECRET" -newkey "$S/k.pem" \
    -subject "/CN=sandbox ir" -certout "$S/ir.pem" && ok "ir with the exported secret" \
    || { bad "ir with the exported secret"; cat "$S/out"; }
# Misbehaviour from inside
echo refuse >"$CARDRENEW_CA_CONTROL"
if cmp -cmd kur -cert "$S/ir.pem" -key "$S/k.pem" -newkey "$S/k2.pem" -certout "$S/x.pem"; then
    bad "kur succeeded although the CA was told to refuse"
else
    grep -q "refuse every request" "$S/out" && ok "CARDRENEW_CA_CONTROL refuse" || { bad "refuse"; cat "$S/out"; }
fi
echo none >"$CARDRENEW_CA_CONTROL"
cmp -cmd kur -cert "$S/ir.pem" -key "$S/k.pem" -newkey "$S/k2.pem" -certout "$S/x.pem" \
    && ok "back to normal" || { bad "kur after none"; cat "$S/out"; }
# Cut the CA off
kill "$CARDRENEW_CA_PID"
i=0; while kill -0 "$CARDRENEW_CA_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if cmp -cmd kur -cert "$S/ir.pem" -key "$S/k.pem" -newkey "$S/k2.pem" -certout "$S/x.pem"; then
    bad "kur succeeded with the CA gone"
else
    ok "CA gone: the client fails"
fi
exit $fails
INSIDE
BUILD_CA=$BUILD/cmp-test-ca
case "$BUILD_CA" in /*) ;; *) BUILD_CA=$(pwd)/$BUILD_CA ;; esac
export BUILD_CA
tests/sandbox --profile O --expires-in 9 -- sh "$T/inside.sh"
rc=$?
[ $rc -eq 0 ] || echo "$rc sandbox CA check(s) failed"
exit $rc
