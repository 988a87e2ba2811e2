#!/bin/sh
# make deb builds a package that dpkg installs on this machine: p11-kit
# lists the module, the installed cardrenew finds it with no --module and
# reads the virtual card; lintian finds no error but the placeholder
# maintainer address; dpkg -r removes all but the configuration and
# dpkg --purge the rest. The machine is restored on every path: the
# package is purged before the test ends (and it refuses to run where
# cardrenew is already installed, so it never removes anyone else's).
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
[ "$(id -u)" = 0 ] || { echo "skipped: dpkg -i needs root"; exit 77; }
command -v dpkg-deb >/dev/null && command -v p11-kit >/dev/null ||
    { echo "skipped: dpkg-deb or p11-kit missing"; exit 77; }
for p in cardrenew cardrenew-pkcs11.so vcard cmp-test-ca; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
exec 9>/tmp/cardrenew-deb-test.lock
flock 9
if dpkg -s cardrenew >/dev/null 2>&1 || [ -e /usr/bin/cardrenew ] || [ -e /etc/cardrenew ]; then
    echo "skipped: cardrenew is already installed on this machine (left alone)"
    exit 77
fi
T=$(mktemp -d)
installed=
restore() {
    [ -n "$installed" ] && dpkg_retry --purge cardrenew >/dev/null 2>&1
    rm -rf "$T"
}
trap restore EXIT
trap 'exit 1' INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# Another dpkg or apt on the machine holds the lock for a while: wait for it.
dpkg_retry() {
    i=0
    while :; do
        dpkg "$@" >"$T/dpkg.out" 2>&1 && return 0
        grep -q 'lock' "$T/dpkg.out" && [ $i -lt 60 ] || { cat "$T/dpkg.out"; return 1; }
        i=$((i + 1)); sleep 2
    done
}

deb=$(make --no-print-directory -s BUILD="$BUILD" deb 2>"$T/mk.err" | tail -n 1)
[ -f "$deb" ] || { cat "$T/mk.err"; echo "FAIL: make deb made no package"; exit 1; }
case "$deb" in */cardrenew_*_"$(dpkg --print-architecture)".deb) ;;
    *) bad "package named $deb" ;; esac
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' | LC_ALL=C sort >"$T/files"
LC_ALL=C sort >"$T/want" <<WANT
./etc/cardrenew/cardrenew.conf
./etc/xdg/autostart/cardrenew-check.desktop
./usr/bin/cardrenew
./usr/lib/$ma/pkcs11/cardrenew-pkcs11.so
./usr/lib/systemd/user/cardrenew-check.service
./usr/lib/systemd/user/cardrenew-check.timer
./usr/share/doc/cardrenew/changelog.gz
./usr/share/doc/cardrenew/copyright
./usr/share/doc/cardrenew/examples/ssh-agent
./usr/share/doc/cardrenew/examples/ssh-authorized-keys
./usr/share/man/man1/cardrenew.1.gz
./usr/share/p11-kit/modules/cardrenew.module
WANT
diff "$T/want" "$T/files" || bad "the package's files differ from the expected list"
dpkg-deb -I "$deb" conffiles | sort >"$T/conffiles"
printf '/etc/cardrenew/cardrenew.conf\n/etc/xdg/autostart/cardrenew-check.desktop\n' |
    diff - "$T/conffiles" || bad "conffiles"
if command -v lintian >/dev/null 2>&1; then
    lintian --allow-root "$deb" >"$T/lintian" 2>&1
    grep '^E:' "$T/lintian" | grep -v 'bogus-mail-host' && bad "lintian errors (above)"
fi

installed=1
dpkg_retry -i "$deb" || { echo "FAIL: dpkg -i"; exit 1; }
p11-kit list-modules >"$T/p11" 2>&1
grep -qx "cardrenew: /usr/lib/$ma/pkcs11/cardrenew-pkcs11.so" "$T/p11" ||
    { bad "p11-kit list-modules does not show the package's module"; cat "$T/p11"; }
cmp -s "$(readlink -f /usr/bin/cardrenew)" "$B/cardrenew" && bad "sanity: installed CLI is the unstripped build"

# The installed cardrenew, no --module: p11-kit's cardrenew module reads the card.
env -u CARDRENEW_MODULE XDG_CONFIG_HOME="$T/cfg" XDG_STATE_HOME="$T/state" \
    BUILD="$BUILD" tests/sandbox -- /usr/bin/cardrenew --status >"$T/status" 2>&1 ||
    { bad "installed cardrenew --status on the virtual card"; cat "$T/status"; }
grep -q 'Active\|Expiring' "$T/status" || { bad "status lists no certificate"; cat "$T/status"; }
grep -q ' 20 ' "$T/status" || { bad "status does not show the card's 20 days"; cat "$T/status"; }

dpkg_retry -r cardrenew || bad "dpkg -r"
for f in /usr/bin/cardrenew "/usr/lib/$ma/pkcs11/cardrenew-pkcs11.so" \
         /usr/share/p11-kit/modules/cardrenew.module /usr/lib/systemd/user/cardrenew-check.timer; do
    [ -e "$f" ] && bad "dpkg -r left $f"
done
[ -f /etc/cardrenew/cardrenew.conf ] || bad "dpkg -r removed the configuration (a conffile)"
p11-kit list-modules 2>/dev/null | grep -q '^cardrenew:' && bad "p11-kit still lists cardrenew after dpkg -r"
dpkg_retry --purge cardrenew || bad "dpkg --purge"
installed=
[ -e /etc/cardrenew ] && bad "dpkg --purge left /etc/cardrenew"
[ -e /etc/xdg/autostart/cardrenew-check.desktop ] && bad "dpkg --purge left the autostart entry"
dpkg -s cardrenew >/dev/null 2>&1 && bad "the package is still known to dpkg"
[ $fail -eq 0 ] && echo "ok: $(basename "$deb") installs, p11-kit and cardrenew find the module, removes and purges cleanly"
exit $fail
