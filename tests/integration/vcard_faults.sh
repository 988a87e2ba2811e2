#!/bin/sh
# Fault injection through `vcard ctl`: vanish after N APDUs, and a write torn
# in the middle of a multi-command update. Afterwards the image still loads
# and holds exactly what the card answered.
set -u
BUILD=${BUILD:-build}
export BUILD
V=$BUILD/vcard
command -v pcscd >/dev/null || { echo "skip: pcscd not installed"; exit 77; }
[ -x "$V" ] || { echo "skip: $V not built"; exit 77; }
unshare --net true 2>/dev/null || { echo "skip: cannot unshare (need root)"; exit 77; }

tmp=$(mktemp -d /tmp/vcard-faults.XXXXXX)
trap 'tests/vcard/stack stop "$tmp/stack" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ctl() { "$V" ctl --control "$VCARD_CONTROL" "$@"; }
rep() { i=0; s=; while [ $i -lt "$2" ]; do s="$s$1"; i=$((i + 1)); done; echo "$s"; }

VCARD_PIN=246810 "$V" new --profile G --image "$tmp/g.img" || fail "vcard new"
tests/vcard/stack start "$tmp/stack" "$tmp/g.img" || fail "stack start"
. "$tmp/stack/env"

AID="00A404000CA000000018 0A000001634200"
EF="00A4080C0416000004"
PIN="002000010824 6810FFFFFFFFFF"

# Vanish: two APDUs answered, the third is not, and the card is gone.
ctl vanish 2 >/dev/null || fail "ctl vanish"
printf '%s\n' "$AID" "80CADF0308" "80CADF0308" | "$V" send >"$tmp/out1"
[ "$(sed -n 2p "$tmp/out1")" = "47 53 56 31 02 01 00 00 90 00" ] ||
    fail "answers before vanishing: $(cat "$tmp/out1")"
grep -q '^ERR' "$tmp/out1" || fail "third APDU was answered"
ctl status | grep -q 'vanished=1' || fail "card not marked vanished"
gone() { # pcscd notices a removal at its next poll (<= 0.4 s)
    i=0
    while "$V" wait-ready --timeout-ms 0 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 30 ] || return 1; sleep 0.1
    done
}
gone || fail "card still in the reader"
echo "vanish ok"
ctl back >/dev/null || fail "ctl back"
"$V" wait-ready --timeout-ms 5000 || fail "card did not come back"
echo "back ok"

# Tear: 100 + 100 bytes fit under K=200; the third write crosses it and is
# discarded, unanswered, and the card vanishes.
ctl tear 200 >/dev/null || fail "ctl tear"
printf '%s\n' "$AID" "$PIN" "$EF" \
    "00D6006E64$(rep AA 100)" "00D600D264$(rep BB 100)" \
    "00D6013664$(rep CC 100)" | "$V" send >"$tmp/out2"
[ "$(sed -n 5p "$tmp/out2")" = "90 00" ] || fail "second write: $(cat "$tmp/out2")"
sed -n 6p "$tmp/out2" | grep -q '^ERR' || fail "torn write was answered"
ctl status | grep -q 'vanished=1' || fail "card not vanished after the tear"
gone || fail "card still in the reader after the tear"
"$V" info --image "$tmp/g.img" >/dev/null || fail "image does not load after the tear"
ctl back >/dev/null
"$V" wait-ready --timeout-ms 5000 || fail "card did not come back after the tear"
printf '%s\n' "$AID" "$EF" "00B0006E64" "00B000D264" "00B0013664" |
    "$V" send >"$tmp/out3" || fail "read back: $(cat "$tmp/out3")"
[ "$(sed -n 3p "$tmp/out3" | tr -d ' ')" = "$(rep AA 100)9000" ] || fail "first write lost"
[ "$(sed -n 4p "$tmp/out3" | tr -d ' ')" = "$(rep BB 100)9000" ] || fail "second write lost"
[ "$(sed -n 5p "$tmp/out3" | tr -d ' ')" = "$(rep 00 100)9000" ] || fail "torn write was kept"
echo "tear ok"

# Latency: three APDUs at 30 ms each take at least 90 ms.
ctl latency 30000 >/dev/null || fail "ctl latency"
t0=$(date +%s%N)
printf '%s\n' "$AID" "80CADF0308" "80CADF0308" | "$V" send >/dev/null || fail "send with latency"
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 90 ] || fail "latency not applied: $(( (t1 - t0) / 1000000 )) ms"
ctl latency 0 >/dev/null
echo "latency ok"

# Mute: the APDU gets no answer (the client waits); "vanish now" drops the
# card, and after "clear" it comes back and answers again.
ctl mute >/dev/null || fail "ctl mute"
printf '80CADF0308\n' | timeout 2 "$V" send >"$tmp/out4"
rc=$?
[ $rc -eq 124 ] || [ -n "$(grep ERR "$tmp/out4")" ] || fail "muted card answered: $(cat "$tmp/out4")"
ctl vanish now >/dev/null || fail "ctl vanish now"
gone || fail "card still in the reader after vanish now"
ctl clear >/dev/null || fail "ctl clear"
"$V" wait-ready --timeout-ms 5000 || fail "card did not come back after clear"
printf '80CADF0308\n' | "$V" send | grep -q '90 00$' || fail "no answer after clear"
echo "mute ok"

# Bad control lines are refused.
ctl tear >/dev/null && fail "tear without a count accepted"
ctl frobnicate >/dev/null && fail "unknown control command accepted"
tests/vcard/stack stop "$tmp/stack"
"$V" info --image "$tmp/g.img" | grep -q '^pin_tries 3$' || fail "PIN tries changed"
echo "PASS"
