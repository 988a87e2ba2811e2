#!/bin/sh
# make install honours PREFIX and DESTDIR and writes nothing outside DESTDIR
# (make runs in a private mount namespace where every top-level directory
# is read-only except DESTDIR itself); the files are exactly the expected
# ones; an existing configuration is never overwritten; the installed
# cardrenew reads the configuration of its own prefix; make uninstall
# removes every file it installed and keeps a changed configuration.
set -u
BUILD=${BUILD:-build}
[ -f "$BUILD/cardrenew-pkcs11.so" ] && [ -f "$BUILD/cardrenew" ] ||
    { echo "skipped: module or CLI not built in $BUILD"; exit 77; }
unshare --mount --propagation private true 2>/dev/null ||
    { echo "skipped: cannot make a private mount namespace (unshare)"; exit 77; }
d=$(mktemp -d /tmp/cardrenew-install.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$d"' EXIT
R=$d/root
mkdir "$R" "$d/home"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

confined() { # PREFIX target: make in a namespace where only DESTDIR is writable
    unshare --mount --propagation private sh -c '
        set -e
        mount --bind "$1" "$1"
        for t in /*; do
            case "$t" in /proc|/sys|/dev) continue ;; esac
            [ -d "$t" ] && [ ! -L "$t" ] || continue
            mount --rbind "$t" "$t"
            mount -o remount,bind,ro "$t"
        done
        touch /tmp/cardrenew-install-probe 2>/dev/null && { echo "/tmp is writable"; exit 1; }
        make --no-print-directory -s BUILD="$4" PREFIX="$2" DESTDIR="$1" "$3"
    ' confined "$R" "$1" "$2" "$BUILD" >"$d/log" 2>&1
    rc=$?
    cat "$d/log"
    return $rc
}
listing() { (cd "$R" && find . -type f | sed 's|^\./||' | sort); }

expect_opt='opt/cr/bin/cardrenew
opt/cr/etc/cardrenew/cardrenew.conf
opt/cr/etc/xdg/autostart/cardrenew-check.desktop
opt/cr/lib/pkcs11/cardrenew-pkcs11.so
opt/cr/lib/systemd/user/cardrenew-check.service
opt/cr/lib/systemd/user/cardrenew-check.timer
opt/cr/share/man/man1/cardrenew.1
opt/cr/share/p11-kit/modules/cardrenew.module'

confined /opt/cr install || bad "make install PREFIX=/opt/cr"
[ "$(listing)" = "$expect_opt" ] ||
    { bad "installed files differ from the expected list:"; listing | diff - "$(printf '%s\n' "$expect_opt" >"$d/want"; echo "$d/want")"; }
grep -qx 'module: /opt/cr/lib/pkcs11/cardrenew-pkcs11.so' "$R/opt/cr/share/p11-kit/modules/cardrenew.module" ||
    bad "the p11-kit module file does not name the installed module"
grep -qx 'ExecStart=/opt/cr/bin/cardrenew --check --notify --quiet' \
    "$R/opt/cr/lib/systemd/user/cardrenew-check.service" || bad "the service does not run the installed CLI"
grep -qx 'Exec=/opt/cr/bin/cardrenew --check --notify --quiet' \
    "$R/opt/cr/etc/xdg/autostart/cardrenew-check.desktop" || bad "the autostart entry does not run the installed CLI"
[ -d "$R/opt/cr/etc/cardrenew/renewed.d" ] || bad "no renewed.d hook directory"
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$d/run"
    # The CLI is checked above; under DESTDIR it is not at its final path.
    (cd "$R/opt/cr/lib/systemd/user" && XDG_RUNTIME_DIR=$d/run systemd-analyze verify --user \
        --man=no ./cardrenew-check.timer ./cardrenew-check.service 2>&1) |
        grep -v 'Command /opt/cr/bin/cardrenew is not executable' | grep . &&
        bad "systemd-analyze verify complained"
fi
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$R/opt/cr/etc/xdg/autostart/cardrenew-check.desktop" ||
        bad "desktop-file-validate"
fi
HOME=$d/home XDG_CONFIG_HOME= "$R/opt/cr/bin/cardrenew" --version >/dev/null 2>&1 ||
    bad "installed cardrenew --version"

# The installed CLI reads its own prefix's configuration.
echo 'colour = blue' >"$R/opt/cr/etc/cardrenew/cardrenew.conf"
out=$(HOME=$d/home XDG_CONFIG_HOME= "$R/opt/cr/bin/cardrenew" --check 2>&1)
case "$out" in *"$R/opt/cr/etc/cardrenew/cardrenew.conf:1: unknown setting"*) ;;
    *) bad "the installed cardrenew did not read PREFIX/etc: $out" ;; esac

# A second install keeps the changed configuration; uninstall keeps it too.
confined /opt/cr install >/dev/null || bad "second make install"
grep -qx 'colour = blue' "$R/opt/cr/etc/cardrenew/cardrenew.conf" ||
    bad "make install overwrote an existing configuration"
out=$(confined /opt/cr uninstall) || bad "make uninstall"
case "$out" in *"kept $R/opt/cr/etc/cardrenew/cardrenew.conf"*) ;;
    *) bad "uninstall did not say it kept the changed configuration: $out" ;; esac
[ "$(listing)" = "opt/cr/etc/cardrenew/cardrenew.conf" ] ||
    { bad "uninstall left (or removed) the wrong files:"; listing; }
rm -rf "${R:?}"/* 

# PREFIX=/usr: configuration in /etc, the p11-kit file where p11-kit looks.
confined /usr install || bad "make install PREFIX=/usr"
mods=$(pkg-config --variable=p11_module_configs p11-kit-1 2>/dev/null || echo /usr/share/p11-kit/modules)
for f in usr/bin/cardrenew etc/cardrenew/cardrenew.conf etc/xdg/autostart/cardrenew-check.desktop \
         usr/lib/systemd/user/cardrenew-check.timer "${mods#/}/cardrenew.module"; do
    [ -f "$R/$f" ] || bad "PREFIX=/usr: $f not installed"
done
confined /usr uninstall >/dev/null || bad "make uninstall PREFIX=/usr"
left=$(find "$R" -type f)
[ -z "$left" ] || bad "uninstall left: $left"
[ -z "$(cd "$R" && find . -path "*cardrenew*" -type d)" ] || bad "uninstall left cardrenew directories"
[ $fail -eq 0 ] && echo "ok: install and uninstall under DESTDIR with PREFIX=/opt/cr and /usr, nothing written outside"
exit $fail
