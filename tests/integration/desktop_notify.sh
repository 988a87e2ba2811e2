#!/bin/sh
# cardrenew --check --notify speaks to a notification server over a private
# session bus (dbus-daemon on a socket of this test): the Notify call's
# urgency hint rises as expiry nears (low > 14 days, normal, critical within
# 7 days or expired), "Renew now" is offered while a renewal is possible,
# and choosing it renews the sandbox card with the PIN from pinentry (a fake
# speaking Assuan), then a second notification tells the outcome. Without a
# bus the check still answers and says why no notification was shown.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
PY=/usr/bin/python3
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
command -v dbus-daemon >/dev/null || { echo "skipped: dbus-daemon missing (package dbus)"; exit 77; }
$PY -c 'from gi.repository import Gio' 2>/dev/null ||
    { echo "skipped: python3-gi missing"; exit 77; }

T=$(mktemp -d)
bus_pid=; nd_pid=
cleanup() {
    [ -n "$nd_pid" ] && kill "$nd_pid" 2>/dev/null
    [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export B XDG_CONFIG_HOME=$T/config CARDRENEW_MODULE=$B/cardrenew-pkcs11.so

dbus-daemon --session --nofork --address="unix:path=$T/bus" --print-address=3 \
    3>"$T/bus.addr" >/dev/null 2>&1 &
bus_pid=$!
i=0; while [ ! -s "$T/bus.addr" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/bus.addr" ] || { echo "FAIL: dbus-daemon did not start"; exit 1; }
export DBUS_SESSION_BUS_ADDRESS="unix:path=$T/bus"

# The fake pinentry answers GETPIN with the sandbox card's PIN (or cancels).
cat >"$T/pinentry" <<'PE'
#!/bin/sh
echo 'OK Pleased to meet you'
while IFS= read -r l; do
    printf '%s\n' "$l" >>"$PINENTRY_LOG"
    case "$l" in
    GETPIN) if [ -n "${PINENTRY_CANCEL:-}" ]; then echo 'ERR 83886179 Operation cancelled <Pinentry>'
            else printf 'D %s\nOK\n' "$CARDRENEW_PIN"; fi ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
    esac
done
PE
chmod +x "$T/pinentry"
export CARDRENEW_PINENTRY=$T/pinentry PINENTRY_LOG=$T/pinentry.log

start_notifyd() { # [--invoke KEY]
    [ -n "$nd_pid" ] && { kill "$nd_pid" 2>/dev/null; wait "$nd_pid" 2>/dev/null; }
    rm -f "$T/notify.log" "$T/ready"
    : >"$T/notify.log"
    $PY tests/desktop/notifyd.py "$T/notify.log" "$T/ready" "$@" 2>"$T/notifyd.err" &
    nd_pid=$!
    i=0; while [ ! -e "$T/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    [ -e "$T/ready" ] || { cat "$T/notifyd.err"; echo "FAIL: the notification server did not start"; exit 1; }
}
field() { # line-number expression: a field of the Nth Notify call
    $PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(eval(sys.argv[3], {"r": r[int(sys.argv[2]) - 1]}))' \
        "$T/notify.log" "$1" "$2" 2>/dev/null
}
calls() { wc -l <"$T/notify.log" | tr -d ' '; }

check_case() { # days want_rc want_urgency want_actions summary
    rm -rf "$T/state"
    XDG_STATE_HOME=$T/state tests/sandbox --expires-in "$1" -- \
        sh -c '"$B/cardrenew" --check --notify --days 28' >"$T/out" 2>&1
    rc=$?
    [ $rc -eq "$2" ] || { bad "expires in $1: exit $rc, want $2"; cat "$T/out"; }
    [ "$(calls)" = 1 ] || { bad "expires in $1: $(calls) Notify calls, want 1"; cat "$T/notify.log"; return; }
    [ "$(field 1 'r["hints"]["urgency"]')" = "$3" ] ||
        bad "expires in $1: urgency $(field 1 'r["hints"]["urgency"]'), want $3"
    [ "$(field 1 'r["actions"]')" = "$4" ] || bad "expires in $1: actions $(field 1 'r["actions"]'), want $4"
    [ "$(field 1 'r["summary"]')" = "$5" ] || bad "expires in $1: summary $(field 1 'r["summary"]')"
    [ "$(field 1 'r["app"]')" = cardrenew ] || bad "expires in $1: app name"
    echo "ok   expires in $1 days: urgency $3, actions $4"
}

start_notifyd
check_case 20 10 0 "['renew', 'Renew now']" "Smartcard expiry notification"
case "$(field 1 'r["body"]')" in *"(20 days left)"*) ;; *) bad "body: $(field 1 'r["body"]')" ;; esac
cp "$T/notify.log" "$T/first-call.json"
start_notifyd
check_case 14 10 1 "['renew', 'Renew now']" "Smartcard expiry notification"
start_notifyd
check_case 7 10 2 "['renew', 'Renew now']" "Smartcard expiry notification"
start_notifyd
check_case -1 11 2 "[]" "Your Smartcard has expired"

# Not due: no notification at all.
start_notifyd
XDG_STATE_HOME=$T/state tests/sandbox --expires-in 40 -- \
    sh -c '"$B/cardrenew" --check --notify --days 28' >"$T/out" 2>&1
[ $? -eq 0 ] || bad "not due: exit code"
[ "$(calls)" = 0 ] || bad "not due: a notification was shown"

# "Renew now": the renewal runs, the PIN from pinentry, the outcome shown.
start_notifyd --invoke renew
rm -rf "$T/state"; : >"$PINENTRY_LOG"
XDG_STATE_HOME=$T/state tests/sandbox --expires-in 5 -- sh -c '
    "$B/cardrenew" --check --notify --days 28; echo "check exit $?"
    "$B/cardrenew" --status' >"$T/out" 2>&1
grep -q '^check exit 10$' "$T/out" || { bad "renew now: check exit"; cat "$T/out"; }
grep -q ' 730 ' "$T/out" || { bad "renew now: the card was not renewed"; cat "$T/out"; }
[ "$(calls)" = 2 ] || { bad "renew now: $(calls) Notify calls, want 2"; cat "$T/notify.log"; }
[ "$(field 2 'r["summary"]')" = "Your smartcard is renewed" ] ||
    bad "renew now: second summary $(field 2 'r["summary"]')"
case "$(field 2 'r["body"]')" in "Your smartcard is now renewed: the new certificate expires on "*) ;;
    *) bad "renew now: second body $(field 2 'r["body"]')" ;; esac
grep -qx GETPIN "$PINENTRY_LOG" || bad "renew now: pinentry was not asked"
cp "$T/notify.log" "$T/renew-calls.json"
pin=123456   # the sandbox card's PIN (tests/sandbox default)
[ -n "$pin" ] && grep -q "$pin" "$T/out" "$T/notify.log" && bad "the PIN appears in output or a notification"
echo "ok   Renew now renewed the card; second notification: $(field 2 'r["body"]')"

# "Renew now", PIN entry cancelled: nothing changes, the failure is shown.
start_notifyd --invoke renew
rm -rf "$T/state"
PINENTRY_CANCEL=1 XDG_STATE_HOME=$T/state tests/sandbox --expires-in 5 -- sh -c '
    "$B/cardrenew" --check --notify --days 28; echo "check exit $?"
    "$B/cardrenew" --status' >"$T/out" 2>&1
grep -q ' 730 ' "$T/out" && bad "cancelled: the card was renewed anyway"
[ "$(field 2 'r["summary"]')" = "Your smartcard was not renewed" ] ||
    { bad "cancelled: second summary $(field 2 'r["summary"]')"; cat "$T/out"; }
[ "$(field 2 'r["hints"]["urgency"]')" = 2 ] || bad "cancelled: urgency"
case "$(field 2 'r["body"]')" in *cancelled*) ;; *) bad "cancelled: body $(field 2 'r["body"]')" ;; esac
echo "ok   cancelled PIN entry: $(field 2 'r["body"]')"

# No session bus: the check answers, one line says why nothing was shown.
mkdir -p "$T/run"
env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=$T/run XDG_STATE_HOME=$T/state \
    tests/sandbox --expires-in 20 -- sh -c '"$B/cardrenew" --check --notify --days 28' >"$T/out" 2>&1
[ $? -eq 10 ] || bad "no bus: exit code"
grep -q 'no desktop session bus' "$T/out" || { bad "no bus: no explanation"; cat "$T/out"; }

if [ -n "${NOTIFY_EVIDENCE:-}" ]; then
    cp "$T/first-call.json" "$NOTIFY_EVIDENCE.first.json"
    cp "$T/renew-calls.json" "$NOTIFY_EVIDENCE.renew.json"
fi
[ $fail -eq 0 ] && echo "ok: notifications over D-Bus with rising urgency, Renew now through pinentry"
exit $fail
