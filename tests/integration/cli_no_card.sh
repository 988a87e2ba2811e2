#!/bin/sh
# When the module shows no smartcard, cardrenew names the real cause, each
# with its exit code (cardrenew(1)): a reader with no card in it (2), no
# smartcard reader (15: a pcscd with none configured), the smartcard
# service not running (14: the sandbox's pcscd stopped). A real pcscd each
# time, in its own namespace.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
for t in "$B/cardrenew" "$B/cardrenew-pkcs11.so" "$B/vcard" "$B/cmp-test-ca"; do
    [ -e "$t" ] || { echo "skip: $t is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skip: the PC/SC stack needs root (unshare, bind mount)"; exit 77; }
command -v pcscd >/dev/null || { echo "skip: pcscd is not installed"; exit 77; }

T=$(mktemp -d /tmp/nocard.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
export B CARDRENEW_MODULE="$B/cardrenew-pkcs11.so" XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config

cat >"$T/lib.sh" <<'LIB'
fail() { echo "FAIL ($CASE): $*"; exit 1; }
# expect CODE TEXT ARGS...: cardrenew ARGS exits CODE and says TEXT.
expect() {
    code=$1 text=$2; shift 2
    "$B/cardrenew" "$@" >"$T/o" 2>&1; rc=$?
    [ "$rc" = "$code" ] || fail "cardrenew $*: exit $rc, want $code: $(cat "$T/o")"
    grep -q "$text" "$T/o" || fail "cardrenew $*: no \"$text\" in: $(cat "$T/o")"
    echo "ok   $CASE: cardrenew $* -> $rc: $(head -n 1 "$T/o")"
}
# stop PID: TERM, then wait until it has gone.
stop() {
    kill -TERM "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
}
LIB

# The sandbox's card and pcscd, stopped one after the other. Its pids file
# lists the card first, then pcscd.
cat >"$T/sandbox.sh" <<'INSIDE'
. "$T/lib.sh"
set -- $(cat "$CARDRENEW_SANDBOX/stack/pids")
card=$1 pcscd=$2
CASE=card; expect 0 "" --status
stop "$card"
# pcscd sees the card gone within its 400 ms poll.
i=0
while "$B/cardrenew" --status >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
CASE="reader, no card"
expect 2 "no smartcard in the reader: insert your smartcard" --status
expect 2 "no smartcard in the reader" --check
expect 2 "no smartcard in the reader" --renew --yes --pin-source env:CARDRENEW_PIN
stop "$pcscd"
CASE="pcscd stopped"
expect 14 "the smartcard service (pcscd) is not running" --status
expect 14 "the smartcard service (pcscd) is not running" --diagnose
expect 14 "the smartcard service (pcscd) is not running" --renew --yes --pin-source env:CARDRENEW_PIN
INSIDE
T=$T tests/sandbox -- env T="$T" sh "$T/sandbox.sh" || exit 1

# A pcscd with no reader configured (an empty reader.conf.d), in a private
# namespace of its own.
mkdir -p "$T/run" "$T/conf.d" /run/pcscd
cat >"$T/noreader.sh" <<'INSIDE'
. "$T/lib.sh"
ip link set lo up
mount --bind "$T/run" /run/pcscd || fail "cannot bind-mount /run/pcscd"
pcscd --foreground --config "$T/conf.d" >"$T/pcscd.log" 2>&1 &
pid=$!
trap 'stop $pid' EXIT
i=0
while [ ! -S "$T/run/pcscd.comm" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$T/run/pcscd.comm" ] || fail "pcscd did not start: $(cat "$T/pcscd.log")"
export PCSCLITE_CSOCK_NAME=$T/run/pcscd.comm
CASE="no reader"
expect 15 "no smartcard reader found: connect your smartcard reader" --status
expect 15 "no smartcard reader found" --check
expect 15 "no smartcard reader found" --diagnose
INSIDE
T=$T unshare --mount --net --propagation private sh "$T/noreader.sh"
