#!/bin/sh
# tests/sandbox brings up a card of each profile behind a private pcscd:
# opensc-tool reads the profile's ATR through it; the sandbox passes the
# command's exit status through and leaves no temporary directory behind.
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
command -v opensc-tool >/dev/null || { echo "skipped: no opensc-tool"; exit 77; }

atr_O=3B:DD:18:00:81:31:FE:45:80:F9:A0:00:00:00:77:01:08:00:07:90:00:FE
atr_G=3B:F9:18:00:00:81:31:FE:45:4A:43:4F:50:34:31:56:32:32:AF
fails=0
for prof in O G; do
    eval want=\$atr_$prof
    out=$(tests/sandbox --profile "$prof" -- opensc-tool -a 2>&1)
    rc=$?
    got=$(echo "$out" | grep -i '^[0-9a-f][0-9a-f]:' | tr a-f A-F)
    if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
        echo "ok   profile $prof ATR $got"
    else
        echo "FAIL profile $prof: exit $rc, output:"; echo "$out" | sed 's/^/     /'
        fails=$((fails + 1))
    fi
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tests/sandbox --profile G -- sh -c 'echo "$CARDRENEW_SANDBOX" >"$1"; test -n "$CARDRENEW_CA_URL" && test -s "$CARDRENEW_CA_CERT" && test -n "$CARDRENEW_CA_REF" && exit 42' sh "$T/dir"
rc=$?
[ $rc -eq 42 ] && echo "ok   exit status passed through, environment set" \
    || { echo "FAIL sandbox returned $rc, wanted 42"; fails=$((fails + 1)); }
d=$(cat "$T/dir" 2>/dev/null)
[ -n "$d" ] && [ ! -e "$d" ] && echo "ok   temporary directory $d removed" \
    || { echo "FAIL sandbox directory '$d' left behind"; fails=$((fails + 1)); }
[ $fails -eq 0 ]
