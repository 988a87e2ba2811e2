#!/bin/sh
# A screenshot of the reminder as a person sees it: Xvfb, a private session
# bus, Debian's notification-daemon, and cardrenew --check --notify on the
# sandbox card (expiring in DAYS, default 5). Writes OUT (default
# build/desktop/notification-DAYS.png). Not a test: evidence to look at.
set -u
DAYS=${1:-5}
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
OUT=${OUT:-$B/desktop/notification-$DAYS.png}
ND=/usr/lib/notification-daemon/notification-daemon
for t in Xvfb xdotool dbus-daemon "$ND"; do
    command -v "$t" >/dev/null || { echo "screenshot: $t missing"; exit 2; }
done
W=$(mktemp -d)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/fb" "$(dirname "$OUT")"
Xvfb -displayfd 5 -screen 0 800x300x24 -fbdir "$W/fb" -nolisten tcp 5>"$W/display" >/dev/null 2>&1 &
pids="$! $pids"
i=0; while [ ! -s "$W/display" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
export DISPLAY=":$(cat "$W/display")"
dbus-daemon --session --nofork --address="unix:path=$W/bus" >/dev/null 2>&1 &
pids="$! $pids"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$W/bus"
i=0; while [ ! -S "$W/bus" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$ND" >"$W/nd.log" 2>&1 &
pids="$! $pids"
i=0; until dbus-send --session --print-reply --dest=org.freedesktop.Notifications \
    /org/freedesktop/Notifications org.freedesktop.Notifications.GetCapabilities >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$W/nd.log"; echo "screenshot: no notification-daemon"; exit 1; }
    sleep 0.1
done
export B CARDRENEW_MODULE=$B/cardrenew-pkcs11.so XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/cfg
tests/sandbox --expires-in "$DAYS" -- sh -c '
    "$B/cardrenew" --check --notify --days 28 & c=$!
    xdotool search --sync --onlyvisible --name "." >/dev/null 2>&1
    sleep 1   # let the popup finish drawing before the frame buffer is read
    kill $c' >/dev/null 2>&1
python3 tests/tools/xwd2png.py "$W/fb/Xvfb_screen0" "$OUT"
echo "$OUT"
