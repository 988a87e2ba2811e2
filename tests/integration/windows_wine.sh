#!/bin/sh
# The Windows module (build/win64/cardrenew-pkcs11.dll) under Wine on both
# virtual cards (tests/sandbox --profile G and O): a small Windows PKCS#11
# host (tests/win/p11host.c, LoadLibrary) lists the slot and token, reads
# the certificate, is refused a wrong PIN and logs in with the right one,
# signs with the card's key (verified by OpenSSL against the certificate;
# a changed message must not verify), generates a key pair on the card,
# writes a certificate for it and signs with it, then sees the card pulled
# (no token, its session gone) and put back (logs in and signs again).
# Wine 8's winscard.dll is a stub: a test-only one (tests/win/winscard_fwd.c,
# WINEDLLOVERRIDES=winscard=n) forwards the SCard* calls over loopback to
# scard_bridge, on pcsc-lite in the sandbox. Also renew/plat_win.c on its
# own (tests/win/test_renew_plat.c): the journal's durable replace, new-file
# creation and lock, reading back and moving aside, its folder, and module
# loading. A private WINEPREFIX per run.
# Builds with `make windows-tests` when needed (the first build of OpenSSL
# for mingw takes minutes; later runs reuse build/win64/openssl).
set -u
BUILD=${BUILD:-build}
export BUILD
. tests/win/wine.inc

if [ "${1:-}" != --inner ]; then
    start=$(date +%s)
    win_build
    built=$(date +%s)
    echo "build: $((built - start)) s"
    rc=0
    for P in G O; do
        t0=$(date +%s)
        if tests/sandbox --profile "$P" -- sh "$0" --inner "$P"; then
            echo "PASS: profile $P under Wine ($(($(date +%s) - t0)) s)"
        else
            echo "FAIL: profile $P under Wine"
            rc=1
        fi
    done
    echo "total: $(($(date +%s) - start)) s"
    exit $rc
fi

# ---- inside the sandbox ----
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
P=$2
run=$CARDRENEW_SANDBOX/win
win_start "$run"
cp $W/cardrenew-pkcs11.dll $W/tests/p11host.exe $W/tests/test_renew_plat.exe "$run/"

# The renewal engine's Windows seam (renew/plat_win.c) on its own: the
# journal's files and loading the module.
mkdir "$run/journal"
(cd "$run" && wine test_renew_plat.exe "$(winpath "$run/journal")" \
    cardrenew-pkcs11.dll) >"$run/plat.out" 2>&1
rc=$?
sed "s/^/  [$P] /" "$run/plat.out"
[ $rc -eq 0 ] && [ "$(grep -c '^ok: ' "$run/plat.out")" -eq 21 ] ||
    { echo "FAIL: test_renew_plat exited $rc"; exit 1; }

sha1=
[ "$P" = G ] && sha1=--sha1     # profile G signs SHA-1 DigestInfos only
cd "$run"
rm -f pull-now back-now
timeout 300 wine p11host.exe cardrenew-pkcs11.dll $sha1 --keygen --pull >host.out 2>&1 &
host=$!
# The host asks for the pull and the reinsertion through files.
ctl() { "$BUILD/vcard" ctl --control "$VCARD_CONTROL" "$@" >/dev/null; }
for ask in pull-now back-now; do
    i=0
    while [ ! -e $ask ] && kill -0 $host 2>/dev/null && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e $ask ] || break
    if [ $ask = pull-now ]; then ctl vanish now; else ctl back; fi
done
wait $host
rc=$?
out=$(cat host.out)
echo "$out" | sed "s/^/  [$P] /"
[ $rc -eq 0 ] || { echo "FAIL: p11host exited $rc"; exit 1; }
for step in "slot(s) with a token" "certificate read without login" \
            "wrong PIN refused, right PIN logged in" "card key: .* verified by OpenSSL" \
            "key pair generated on the card" "certificate written for the new key" \
            "new key: .* verified by OpenSSL" "card pulled: the slot shows no token" \
            "card put back: logged in again" "after reinsertion: .* verified" "finalized"; do
    echo "$out" | grep -q "^ok: .*$step" || { echo "FAIL: no \"$step\""; exit 1; }
done
case "$out" in *"$CARDRENEW_PIN"*) echo "FAIL: the PIN was printed"; exit 1 ;; esac
echo "ok: profile $P"
