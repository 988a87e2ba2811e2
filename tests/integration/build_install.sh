#!/bin/sh
# make install honours PREFIX and DESTDIR, the p11-kit module file names the
# installed module, and make uninstall removes every file it installed.
set -u
BUILD=${BUILD:-build}
[ -f "$BUILD/cardrenew-pkcs11.so" ] && [ -f "$BUILD/cardrenew" ] ||
    { echo "skipped: module or CLI not built in $BUILD"; exit 77; }
d=$(mktemp -d /tmp/cardrenew-install.XXXXXX)
trap 'rm -rf "$d"' EXIT
mods=$d/p11-kit-modules
m() { make --no-print-directory -s BUILD="$BUILD" PREFIX=/opt/cr DESTDIR="$d/root" \
      P11_MODULE_CONFIGS="$mods" "$@"; }
fail=0
m install >"$d/log" 2>&1 || { cat "$d/log"; echo "FAIL: make install"; exit 1; }
for f in opt/cr/lib/pkcs11/cardrenew-pkcs11.so opt/cr/bin/cardrenew \
         opt/cr/share/man/man1/cardrenew.1; do
    [ -f "$d/root/$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
modfile=$d/root$mods/cardrenew.module
grep -qx 'module: /opt/cr/lib/pkcs11/cardrenew-pkcs11.so' "$modfile" ||
    { echo "FAIL: module file does not name the installed module"; cat "$modfile"; fail=1; }
"$d/root/opt/cr/bin/cardrenew" --version >/dev/null 2>&1 ||
    { echo "FAIL: installed cardrenew --version"; fail=1; }
m uninstall >"$d/log" 2>&1 || { cat "$d/log"; echo "FAIL: make uninstall"; exit 1; }
left=$(find "$d/root" -type f | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: uninstall left:"; find "$d/root" -type f; fail=1; }
[ $fail -eq 0 ] && echo "ok: install and uninstall under DESTDIR with PREFIX=/opt/cr"
exit $fail
