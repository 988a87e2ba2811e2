#!/bin/sh
# Every --renew leaves one line in syslog (LOG_AUTHPRIV): a renewal, a
# renewal not due, a refusal (wrong PIN), with the user, the card serial
# and the expiries, never the PIN. cardrenew runs in a private mount
# namespace whose /dev holds a socket of this test as /dev/log.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack and the private /dev need root"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export B W XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
export CARDRENEW_MODULE=$B/cardrenew-pkcs11.so CARDRENEW_HOOK_DIR=$W/no-hooks
cat >"$W/catch.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[2], "w").close()
with open(sys.argv[1], "a") as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").rstrip("\n") + "\n")
        f.flush()
PY
cat >"$W/private-dev.sh" <<'DEV'
set -e
mkdir -p "$W/realdev"
mount --bind /dev "$W/realdev"
mount -t tmpfs -o size=1m,mode=755 cardrenew-test-dev /dev
for n in null zero urandom random full tty; do
    touch "/dev/$n"; mount --bind "$W/realdev/$n" "/dev/$n"
done
/usr/bin/python3 "$W/catch.py" "$W/syslog" "$W/ready" & c=$!
i=0; while [ ! -e "$W/ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
set +e
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >/dev/null 2>&1; echo "renew $?" >>"$W/rc"
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >/dev/null 2>&1
echo "again $?" >>"$W/rc"
WRONG=999999 "$B/cardrenew" --renew --yes --force --pin-source env:WRONG >/dev/null 2>&1
echo "wrong $?" >>"$W/rc"
"$B/cardrenew" --status >"$W/status" 2>&1
kill $c
DEV
tests/sandbox --expires-in 20 -- sh -c 'unshare --mount --propagation private sh "$W/private-dev.sh"' ||
    { echo "FAIL: the run in a private /dev"; exit 1; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
printf 'renew 0\nagain 0\nwrong 3\n' | diff - "$W/rc" || bad "exit codes"
serial=$(awk 'NR == 2 { print $1 }' "$W/status")
[ -s "$W/syslog" ] || { echo "FAIL: nothing reached /dev/log"; exit 1; }
[ "$(grep -c . "$W/syslog")" = 3 ] || { bad "want 3 lines"; cat "$W/syslog"; }
user=$(id -un)
# <PRI> is facility*8+severity: authpriv (10) * 8 + notice 5 = 85, info 86, warning 84.
sed -n 1p "$W/syslog" | grep -Eq "^<85>.*cardrenew\[[0-9]+\]: renewed: user=$user card=$serial old_not_after=[0-9T:-]+Z new_not_after=[0-9T:-]+Z new_cert_serial=[0-9A-F]+$" ||
    bad "renewal line: $(sed -n 1p "$W/syslog")"
sed -n 2p "$W/syslog" | grep -Eq "^<86>.*cardrenew\[[0-9]+\]: not due: user=$user card=$serial not_after=[0-9T:-]+Z \(already renewed\)$" ||
    bad "not-due line: $(sed -n 2p "$W/syslog")"
sed -n 3p "$W/syslog" | grep -Eq "^<84>.*cardrenew\[[0-9]+\]: refused: user=$user card=$serial not_after=([0-9T:-]+Z|unknown) exit=3: wrong PIN" ||
    bad "refusal line: $(sed -n 3p "$W/syslog")"
grep -q '123456\|999999' "$W/syslog" && bad "a PIN reached syslog"
sed 's/^/    /' "$W/syslog"
[ $fail -eq 0 ] && echo "ok: one syslog line per renewal, non-renewal and refusal, no PIN"
exit $fail
