#!/bin/sh
# A broken or hostile CA never replaces a good credential. On each profile,
# the test CA issues each kind of certificate a careful client must refuse
# (another key, expired, not yet valid, signed by another key under the
# CA's name, another subject, a CA certificate, shorter than the current
# one), always in a well protected CMP answer. Each time: exit 6, one line
# saying why, the card's objects exactly as before, the refused certificate
# kept for the RA, and the CA told in certConf (it revokes what was
# refused). Then a good answer renews, and a second --renew renews nothing.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
for t in "$B/cardrenew" "$B/cardrenew-pkcs11.so" "$B/vcard" "$B/cmp-test-ca"; do
    [ -e "$t" ] || { echo "skip: $t is not built"; exit 77; }
done
command -v pkcs11-tool >/dev/null || { echo "skip: pkcs11-tool (opensc) missing"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: the PC/SC stack needs root (unshare, bind mount)"; exit 77; }

T=$(mktemp -d /tmp/renew-hostile.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
export BUILD B CARDRENEW_MODULE="$B/cardrenew-pkcs11.so"
unset DBUS_SESSION_BUS_ADDRESS

cat >"$T/inside.sh" <<'INSIDE'
S=$CARDRENEW_SANDBOX
fail() { echo "FAIL ($PROFILE): $*"; exit 1; }
objects() {
    pkcs11-tool --module "$CARDRENEW_MODULE" --login --pin "$CARDRENEW_PIN" --list-objects \
        2>/dev/null | grep -E 'Object;|ID:|label:'
}
kurs() { grep -c 'kur: issued' "$S/ca.log"; }
before=$(objects)
[ -n "$before" ] || fail "cannot list the card"
echo "card before:"; echo "$before" | sed 's/^/    /'
n=0
for m in "wrongkey:another key" "expired:already expired" "notyet:not valid until" \
         "foreign:does not verify against the configured CA certificate" \
         "othersubject:another holder" "isca:certificate authority's certificate" \
         "short:before your current certificate"; do
    mode=${m%%:*} why=${m#*:}
    echo "$mode" >"$CARDRENEW_CA_CONTROL"
    k=$(kurs)
    "$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$S/out" 2>"$S/err"
    rc=$?
    [ $rc = 6 ] || fail "$mode: exit $rc, want 6: $(cat "$S/err")"
    [ "$(kurs)" = $((k + 1)) ] || fail "$mode: the CA issued nothing: the refusal is not about a certificate"
    [ "$(wc -l <"$S/err")" = 1 ] || fail "$mode: more than one line: $(cat "$S/err")"
    grep -q "$why" "$S/err" || fail "$mode: the reason is not \"$why\": $(cat "$S/err")"
    grep -q "keeps its current certificate" "$S/err" || fail "$mode: $(cat "$S/err")"
    after=$(objects)
    [ "$after" = "$before" ] || { echo "$after"; fail "$mode: the card changed"; }
    n=$((n + 1))
    kept=$(ls "$XDG_STATE_HOME"/cardrenew/*.refused-*.pem 2>/dev/null | wc -l)
    [ "$kept" = $n ] || fail "$mode: $kept refused certificates kept, want $n"
    file=$(sed -n 's/.*kept in \(.*\) for your RA.*/\1/p' "$S/err")
    openssl x509 -in "$file" -noout 2>/dev/null || fail "$mode: no certificate in $file"
    grep -q "certConf: PKIStatus: rejection.*$why" "$S/ca.log" ||
        fail "$mode: the CA was not told: $(tail -n 3 "$S/ca.log")"
    echo "ok   $mode: exit 6, card unchanged: $(cat "$S/err")"
done
[ "$(grep -c 'revoked rejected serial' "$S/ca.log")" = $n ] || fail "the CA did not revoke every refused certificate"
echo "ok   the CA revoked the $n refused certificates"

echo none >"$CARDRENEW_CA_CONTROL"
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$S/out" 2>&1 || fail "good CA: $(cat "$S/out")"
grep -q "now renewed" "$S/out" || fail "good CA: $(cat "$S/out")"
"$B/cardrenew" --status --json >"$S/st.json" || fail "--status"
python3 - "$S/st.json" <<PY || fail "after: $(cat "$S/st.json")"
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 1 and 700 <= v[0]["days_left"] <= 740, v
PY
echo "ok   a good answer renews: one credential, ~730 days"
k=$(kurs)
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$S/out" 2>&1 || fail "second --renew: $(cat "$S/out")"
grep -q "already renewed" "$S/out" || fail "second --renew: $(cat "$S/out")"
[ "$(kurs)" = "$k" ] || fail "a second --renew asked the CA again"
echo "ok   a second --renew: $(cat "$S/out")"
INSIDE

fails=0
for p in O G; do
    export PROFILE=$p XDG_STATE_HOME=$T/state-$p
    if timeout 300 sh tests/sandbox --profile "$p" --expires-in 15 -- sh "$T/inside.sh"; then
        echo "ok   profile $p"
    else
        echo "FAIL profile $p"
        fails=$((fails + 1))
    fi
done
[ $fails = 0 ] && echo PASS
