#!/bin/sh
# The module exports the PKCS#11 entry points and nothing else, and is
# built with the hardening the Makefile asks for.
set -u
BUILD=${BUILD:-build}
so=$BUILD/cardrenew-pkcs11.so
[ -f "$so" ] || { echo "skipped: $so is not built"; exit 77; }
fail=0
syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
want="C_GetFunctionList C_GetInterface C_GetInterfaceList "
if [ "$syms" != "$want" ]; then
    echo "FAIL: exported: $syms; want: $want"; fail=1
else
    echo "ok: exports $syms"
fi
# Full RELRO: a GNU_RELRO segment and BIND_NOW.
readelf -lW "$so" | grep -q GNU_RELRO || { echo "FAIL: no RELRO segment"; fail=1; }
readelf -dW "$so" | grep -Eq 'BIND_NOW|FLAGS.*NOW' || { echo "FAIL: not linked -z now"; fail=1; }
# Stack protector and fortify reached the objects.
nm -D "$so" | grep -q __stack_chk_fail || { echo "FAIL: no stack protector"; fail=1; }
nm -D "$so" | grep -q '_chk@' || { echo "FAIL: no _FORTIFY_SOURCE checks"; fail=1; }
# Every program and the module are position independent with full RELRO.
for p in cardrenew vcard cmp-test-ca; do
    [ -f "$BUILD/$p" ] || continue
    readelf -dW "$BUILD/$p" | grep -Eq 'BIND_NOW|FLAGS.*NOW' || { echo "FAIL: $p not linked -z now"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: hardening flags present"
exit $fail
