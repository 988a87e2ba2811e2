#!/bin/sh
# A renewal cut on one desktop and rerun on another, which has no journal:
# for each profile the renewal is killed after each step, or killed after
# verify and then the card pulled at each APDU that changes the card while
# the old credential is retired (a resume from that desktop's journal).
# Then a rerun with a fresh, empty XDG_STATE_HOME must finish (exit 0) and
# leave one certificate and one private key that sign and verify together,
# ~730 days (a cut before the certificate reached the card is renewed
# again). Checked with tests/fault/cred.sh. While both certificates are on
# the card the rerun must finish with the new one, with no second kur.
# About 45 s.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root (unshare, bind mount)"; exit 77; }
command -v pkcs11-tool >/dev/null || { echo "skipped: pkcs11-tool (opensc) is not installed"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export B T XDG_CONFIG_HOME="$T/config" CARDRENEW_MODULE="$B/cardrenew-pkcs11.so" VCARD_TRACE=1
cat >"$T/inside.sh" <<'INSIDE'
# Inside the sandbox, one point: $1 (below).
set -u
S=$CARDRENEW_SANDBOX
MOD=$B/cardrenew-pkcs11.so
renew() { # STATE OUT
    XDG_STATE_HOME=$1 timeout -s KILL 60 "$B/cardrenew" --renew --yes \
        --pin-source env:CARDRENEW_PIN >"$2.out" 2>"$2.err"
    echo $?
}
ctl() { "$B/vcard" ctl --control "$VCARD_CONTROL" "$@" >/dev/null; }
TR=$S/stack/trace0
# $1: kill@STEP, measure (print the retire run's card-changing APDUs) or
# pull@N (the card vanishes at APDU N of the retire run).
step=${1#*@}
case "$1" in kill@*) ;; *) step=verify ;; esac
rc=$(CARDRENEW_TEST_KILL_AT=$step renew "$T/state.a" "$S/r1")
[ "$rc" = 137 ] || { echo "killed run: exit $rc, wanted 137: $(cat "$S/r1.err")"; exit 1; }
n0=$(grep -c ' > ' "$TR")
case "$1" in
measure)
    rc=$(renew "$T/state.a" "$S/r1b")
    [ "$rc" = 0 ] || { echo "resume: exit $rc: $(cat "$S/r1b.err")"; exit 1; }
    awk -v n0="$n0" -v w="$WRITES" '/ > / {n++; c = $0; sub(/^[^>]*> /, "", c); if (n > n0 && c ~ w) printf "retire-apdu %d\n", n - n0}' "$TR"
    exit 0 ;;
pull@*)
    n=${1#pull@}
    ctl vanish $((n - 1)) || { echo "ctl vanish"; exit 1; }
    rc=$(renew "$T/state.a" "$S/r1b")
    case "$rc" in
    124|137|1[3-9][0-9]|2[0-9][0-9]) echo "pulled resume: exit $rc: $(cat "$S/r1b.err")"; exit 1 ;;
    esac
    i=0
    while "$B/vcard" wait-ready --timeout-ms 0 >/dev/null 2>&1 && [ $i -lt 30 ]; do
        i=$((i + 1)); sleep 0.1
    done
    ctl clear || { echo "ctl clear"; exit 1; }
    "$B/vcard" wait-ready --timeout-ms 5000 >/dev/null 2>&1 || { echo "the card did not come back"; exit 1; }
    i=0
    until pkcs11-tool --module "$MOD" -L 2>/dev/null | grep -q 'serial num'; do
        i=$((i + 1)); [ $i -lt 50 ] || { echo "the token did not come back"; exit 1; }; sleep 0.1
    done ;;
esac
sh tests/fault/cred.sh "$MOD" "$S/mid" >"$S/mid.out" ||
    { echo "no working credential after the cut: $(tr '\n' ' ' <"$S/mid.out")"; exit 1; }
k0=$(grep -c 'kur: issued' "$S/ca.log")
rc=$(renew "$T/state.b" "$S/r2")
[ "$rc" = 0 ] || { echo "rerun elsewhere: exit $rc: $(cat "$S/r2.err")"; exit 1; }
sh tests/fault/cred.sh "$MOD" "$S/end" >"$S/end.out" ||
    { echo "no working credential at the end: $(tr '\n' ' ' <"$S/end.out")"; exit 1; }
head -n 1 "$S/end.out" | grep -q '^objects certs=1 keys=1 ' ||
    { echo "end state: $(head -n 1 "$S/end.out") (mid: $(head -n 1 "$S/mid.out"))"; exit 1; }
days=$(sed -n 's/^cred \([0-9-]*\) .*/\1/p' "$S/end.out")
[ "$days" -ge 728 ] && [ "$days" -le 731 ] ||
    { echo "end state: $days days left, wanted ~730"; exit 1; }
# Once the new certificate is on the card, the rerun finishes with it and
# asks the CA for nothing.
kurs=$(( $(grep -c 'kur: issued' "$S/ca.log") - k0 ))
case "$1:$(head -n 1 "$S/mid.out")" in
kill@keygen:*|kill@cmp:*|kill@journal:*) ;;
*"certs=2"*) [ $kurs -eq 0 ] || { echo "the rerun renewed again ($kurs kur) though the new certificate was on the card"; exit 1; } ;;
esac
echo "kur=$kurs mid=[$(head -n 1 "$S/mid.out" | sed 's/^objects //; s/ serial=.*//')] end=$days days"
INSIDE
point() { # PROFILE POINT
    rm -rf "$T/state.a" "$T/state.b"
    tests/sandbox --profile "$1" --expires-in 15 -- sh "$T/inside.sh" "$2" 2>&1 </dev/null
}
fails=0
for prof in G O; do
    case $prof in
    G) WRITES='^(80 46 00|00 D6|80 E4)' ;;
    O) WRITES='^(00 DB|00 47|00 E0|00 D6|00 E4)' ;;
    esac
    export WRITES
    pts=
    for step in keygen cmp journal write verify retire; do pts="$pts kill@$step"; done
    m=$(point $prof measure) || { echo "FAIL $prof measuring the retire run: $(echo "$m" | tail -n 1)"; fails=$((fails + 1)); continue; }
    echo "$m" | grep -q '^retire-apdu ' || { echo "FAIL $prof: the retire run changed nothing on the card"; fails=$((fails + 1)); }
    for n in $(echo "$m" | sed -n 's/^retire-apdu //p'); do pts="$pts pull@$n pull@$((n + 1))"; done
    pts=$(echo "$pts" | tr ' ' '\n' | awk '!seen[$0]++')
    for p in $pts; do
        if out=$(point $prof "$p"); then
            echo "ok   $prof $p $(echo "$out" | tail -n 1)"
        else
            echo "FAIL $prof $p: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
            fails=$((fails + 1))
        fi
    done
done
[ $fails -eq 0 ]
