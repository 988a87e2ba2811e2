#!/bin/sh
# The cmocka unit tests on portable code, cross-built for Windows
# (make windows-units: tools/windows.mk lists them and why others stay
# Linux-only; cmocka from Debian's source, tools/win-cmocka.sh) and run
# under Wine in a private prefix. Each must exit 0 and report cmocka's
# PASSED for as many tests as it ran, none FAILED.
set -u
for t in wine x86_64-w64-mingw32-gcc cmake; do
    command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
W=build/win64
log=$(mktemp /tmp/windows-units.XXXXXX)
start=$(date +%s)
tools/win-openssl.sh $W/openssl >"$log" 2>&1
case $? in
0) ;;
3) tail -n 1 "$log"; rm -f "$log"; echo "skipped: the pinned OpenSSL source package is not in this mirror"; exit 77 ;;
*) tail -n 30 "$log"; rm -f "$log"; echo "FAIL: building OpenSSL for mingw"; exit 1 ;;
esac
tools/win-cmocka.sh $W/cmocka >"$log" 2>&1
case $? in
0) ;;
3) tail -n 1 "$log"; rm -f "$log"; echo "skipped: the pinned cmocka source package is not in this mirror"; exit 77 ;;
*) tail -n 30 "$log"; rm -f "$log"; echo "FAIL: building cmocka for mingw"; exit 1 ;;
esac
make --no-print-directory windows-units >"$log" 2>&1 ||
    { tail -n 30 "$log"; rm -f "$log"; echo "FAIL: make windows-units"; exit 1; }
echo "build: $(($(date +%s) - start)) s"

run=$(mktemp -d /tmp/windows-units.XXXXXX)
WINEPREFIX=$run/prefix
export WINEPREFIX WINEDEBUG=-all
trap 'wineserver -k 2>/dev/null; rm -rf "$run" "$log"' EXIT
fail=0
units=$(sed -n 's/^W_UNITS := //p' tools/windows.mk)
[ -n "$units" ] || { echo "FAIL: no W_UNITS in tools/windows.mk"; exit 1; }
for name in $units; do
    exe=$W/tests/$name.exe
    t0=$(date +%s)
    { wine "$exe" 2>&1; echo "exit $?"; } | tr -d '\r' >"$log"
    rc=$(tail -n 1 "$log" | sed -n 's/^exit //p')
    ran=$(grep -c '^\[ RUN      \]' "$log")
    if [ $rc -eq 0 ] && [ "$ran" -gt 0 ] &&
       grep -q "^\[  PASSED  \] $ran test(s)\.\$" "$log" && ! grep -q '^\[  FAILED  \]' "$log"; then
        echo "ok    $name: $ran tests passed under Wine ($(($(date +%s) - t0)) s)"
    else
        echo "FAIL  $name: exit $rc, $ran run"; tail -n 20 "$log"; fail=1
    fi
done
exit $fail
