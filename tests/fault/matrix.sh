#!/bin/sh
# The renewal promise as a fault matrix on the virtual card of one profile:
#   sh tests/fault/matrix.sh G|O      (from the repo root; BUILD as for tests)
# 1. One clean renewal in a sandbox, traced: every APDU that changes the card
#    (G: 80 46 00 keygen, 00 D6 write, 80 E4 delete key; O: 00 DB put data /
#    delete key, 00 47 keygen, 00 E0 create, 00 D6 write, 00 E4 delete file)
#    is a point P.
# 2. Each point in a fresh sandbox (tests/fault/point.sh): the card vanishes
#    at P and at P+1, the power is lost in the middle of the write at P
#    (tear), cardrenew is killed after each step, the CA refuses, drops or
#    dies after the new key is made.
# The full matrix runs (about 2 s a point); FAULT_ONLY=REGEX runs the points
# whose label matches. A point whose cut lands elsewhere (the layout moved
# with a certificate a byte longer) is tried again in a new sandbox, up to
# four times, then counted a "miss": at most a quarter may miss.
# Exit 0 when every point holds, 77 when a tool is missing.
set -u
prof=${1:-}
case "$prof" in G|O) ;; *) echo "usage: matrix.sh G|O" >&2; exit 2 ;; esac
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
OSC=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
for t in pkcs11-tool openssl xxd timeout pcscd unshare; do
    command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
[ -f "$OSC" ] || { echo "skipped: $OSC (OpenSC) is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root (unshare, bind mount)"; exit 77; }

T=$(mktemp -d /tmp/cardrenew-fault.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export B BUILD OSC CARDRENEW_MODULE="$B/cardrenew-pkcs11.so" VCARD_TRACE=1
if [ "$prof" = G ]; then
    # OpenSC reads profile G with gemsafeV1 once told the card's ATR.
    cat >"$T/opensc.conf" <<'CONF'
app default {
    card_atr 3b:f9:18:00:00:81:31:fe:45:4a:43:4f:50:34:31:56:32:32:af {
        driver = "gemsafeV1";
        type = 21001;
    }
    framework pkcs15 { }
}
CONF
    export OSC_ENV="OPENSC_CONF=$T/opensc.conf"
    writes='^(80 46 00|00 D6|80 E4)'
else
    export OSC_ENV="OPENSC_DRIVER=iasecc"
    writes='^(00 DB|00 47|00 E0|00 D6|00 E4)'
fi

# 1. Measure.
cat >"$T/measure.sh" <<'EOF'
TR=$CARDRENEW_SANDBOX/stack/trace0
grep -c ' > ' "$TR" >"$OUT.n0" || echo 0 >"$OUT.n0"
timeout -s KILL 60 "$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$OUT.log" 2>&1 || exit 1
cp "$TR" "$OUT.trace"
EOF
XDG_STATE_HOME=$T/state0 OUT=$T/m tests/sandbox --profile "$prof" --expires-in 15 -- \
    sh "$T/measure.sh" || { echo "FAIL the clean renewal to measure: $(cat "$T/m.log" 2>/dev/null)"; exit 1; }
# "index SW bytes..." for each command APDU of the renewal.
awk -v n0="$(cat "$T/m.n0")" '/ > / {n++; if (n > n0) {sub(/^[^>]*> /, ""); c = $0}}
     / < / && n > n0 {print n - n0, $(NF - 1) $NF, c}' "$T/m.trace" >"$T/cmds"
total=$(wc -l <"$T/cmds")

# 2. The points: "kind arg expect".
: >"$T/points"
sum=0
nw=0
while read -r i sw rest; do
    cmd=$(echo "$rest" | cut -d' ' -f1-2)
    echo "$rest" | grep -Eq "$writes" || continue
    nw=$((nw + 1))
    set -- $rest
    # The data length vcard counts for a tear: Lc, or the extended Lc.
    if [ $# -le 5 ]; then dl=0
    elif [ "$5" != 00 ]; then dl=$((0x$5))
    else dl=$((0x$6 * 256 + 0x$7)); fi
    next=$(awk -v i=$((i + 1)) '$1 == i {print $3, $4}' "$T/cmds")
    echo "vanish $i $i $cmd" >>"$T/points"
    [ -n "$next" ] && echo "vanish $((i + 1)) $((i + 1)) $next" >>"$T/points"
    # Only a command that changed the card counts toward a tear.
    [ "$sw" = 9000 ] || continue
    [ "$dl" -gt 0 ] && echo "tear $((sum + dl / 2)) $i $cmd" >>"$T/points"
    sum=$((sum + dl))
done <"$T/cmds"
sort -u -k1,1 -k2,2n "$T/points" -o "$T/points"
for s in keygen-unsaved keygen cmp journal write verify retire; do
    echo "kill $s - -" >>"$T/points"
done
for m in refuse drop kill; do echo "ca $m - -" >>"$T/points"; done
echo "profile $prof: $total APDUs in a renewal, $nw change the card; $(wc -l <"$T/points") points"

fails=0
miss=0
n=0
while read -r kind arg idx expect; do
    [ -n "${FAULT_ONLY:-}" ] && ! echo "$kind@$arg" | grep -Eq "$FAULT_ONLY" && continue
    n=$((n + 1))
    try=0
    while :; do
        rm -rf "$T/state"
        XDG_STATE_HOME=$T/state tests/sandbox --profile "$prof" --expires-in 15 -- \
            sh tests/fault/point.sh "$kind" "$arg" "$idx" $expect >"$T/out" 2>&1 </dev/null
        rc=$?
        # A miss: the new certificate's length changed the layout; a fresh
        # sandbox (a new certificate) most often brings the measured one back.
        try=$((try + 1))
        [ $rc -eq 3 ] && [ $try -lt 4 ] || break
    done
    if [ $rc -eq 0 ] && grep -q '^ok ' "$T/out"; then
        grep '^ok ' "$T/out"
    elif [ $rc -eq 3 ] && grep -q '^miss ' "$T/out"; then
        grep '^miss ' "$T/out"
        miss=$((miss + 1))
    else
        fails=$((fails + 1))
        grep -q '^FAIL' "$T/out" && grep '^FAIL' "$T/out" ||
            echo "FAIL $kind@$arg: exit $rc: $(tail -n 3 "$T/out" | tr '\n' ' ')"
    fi
done <"$T/points"
echo "profile $prof: $n points, $fails failed, $miss missed (the layout moved)"
# Most points must hit where they aim, or the matrix proves little.
[ $fails -eq 0 ] && [ $n -gt 0 ] && [ $((miss * 4)) -le "$n" ]
