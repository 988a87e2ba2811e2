#!/bin/sh
# The stack script: two stacks side by side (one with two cards) stay
# apart, a card comes back by itself when pcscd restarts, and stop leaves
# no process behind.
set -u
BUILD=${BUILD:-build}
export BUILD
V=$BUILD/vcard
command -v pcscd >/dev/null || { echo "skip: pcscd not installed"; exit 77; }
command -v nsenter >/dev/null || { echo "skip: nsenter not installed"; exit 77; }
[ -x "$V" ] || { echo "skip: $V not built"; exit 77; }
unshare --net true 2>/dev/null || { echo "skip: cannot unshare (need root)"; exit 77; }

tmp=$(mktemp -d /tmp/vcard-stack-test.XXXXXX)
cleanup() {
    for s in a b; do tests/vcard/stack stop "$tmp/$s" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
serial() { # the CPLC's token serial bytes, as `vcard send` prints them
    printf '80CA9F7F2D\n' | PCSCLITE_CSOCK_NAME=$1 "$V" send --reader "$2" |
        cut -d' ' -f14-21 | tr -d ' '
}

for n in 1 2 3; do
    VCARD_PIN=123456 "$V" new --profile G --image "$tmp/c$n.img" \
        --serial "0000${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}${n}" ||
        fail "vcard new"
done
tests/vcard/stack start "$tmp/a" "$tmp/c1.img" "$tmp/c2.img" || fail "stack a"
tests/vcard/stack start "$tmp/b" "$tmp/c3.img" || fail "stack b"
A=$tmp/a/run/pcscd.comm
B=$tmp/b/run/pcscd.comm
[ "$(serial "$A" 0)" = 1111111111111111 ] || fail "stack a reader 0: $(serial "$A" 0)"
[ "$(serial "$A" 1)" = 2222222222222222 ] || fail "stack a reader 1"
[ "$(serial "$B" 0)" = 3333333333333333 ] || fail "stack b reader 0"
grep -q "^VCARD_CONTROL1=$tmp/a/ctl1$" "$tmp/a/env" || fail "env of a"
( . "$tmp/b/env"; [ "$PCSCLITE_CSOCK_NAME" = "$B" ] && [ "$VCARD_STACK_DIR" = "$tmp/b" ] ) ||
    fail "env of b"
"$V" ctl --control "$tmp/a/ctl1" status | grep -q '^ok' || fail "control of a's second card"
echo "two stacks, three cards, each where it belongs"

# pcscd restarts: the card reconnects on its own.
set -- $(cat "$tmp/b/pids")
pcscd_pid=$2 holder=$3
kill -TERM "$pcscd_pid"
i=0
while kill -0 "$pcscd_pid" 2>/dev/null; do
    sleep 0.1; i=$((i + 1)); [ $i -lt 50 ] || fail "pcscd did not stop"
done
nsenter -t "$holder" -n -m pcscd --foreground >"$tmp/b/pcscd2.log" 2>&1 &
echo " $!" >>"$tmp/b/pids"
PCSCLITE_CSOCK_NAME=$B "$V" wait-ready --timeout-ms 10000 ||
    fail "card did not come back after a pcscd restart"
[ "$(serial "$B" 0)" = 3333333333333333 ] || fail "stack b after restart"
echo "reconnected after a pcscd restart"

all=$(cat "$tmp/a/pids" "$tmp/b/pids")
tests/vcard/stack stop "$tmp/a" || fail "stop a"
tests/vcard/stack stop "$tmp/b" || fail "stop b"
for p in $all; do
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && fail "process $p survived stop"
done
tests/vcard/stack run "$tmp/c1.img" -- sh -c 'exit 7'
[ $? -eq 7 ] || fail "stack run does not pass on the status"
echo "PASS"
