#!/bin/sh
# Regenerates the seed corpora in tests/fuzz/corpus/ and minimises them
# (libFuzzer -merge=1: only inputs that add coverage stay).
#   tlv, pkcs15, x509: recorded from the virtual card of profile O through
#     the APDU trace (CARDRENEW_APDU_TRACE) as fuzz_card_o reads it, plus
#     certificates made here by openssl (RSA 1024, P-256);
#   card_g, card_o, pkcs11: operation scripts written below, each with an
#     empty fault stream (the plain path) and one with faults;
#   ca_http: requests as curl and openssl send them, and bad ones;
#   ca_cmp: the messages `openssl cmp` sends to cmp-test-ca (ir, certConf,
#     kur, rr), recorded with -reqout, and the CA's answers (-rspout).
# Needs: make fuzz-build, and build/cmp-test-ca (make).
#   tests/fuzz/seeds.sh [name...]     rewrite only these corpora (e.g. pkcs11)
# The keys and dates made here are new each time, so a corpus rewritten
# without need only churns. tests/fuzz/regress/ is never touched.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FZ=$BUILD/fuzz
CORPUS=tests/fuzz/corpus
RAW=$(mktemp -d)
trap 'kill $CA_PID 2>/dev/null; rm -rf "$RAW"' EXIT
CA_PID=
export UBSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/tests/fuzz/ubsan.supp"
for t in fuzz_tlv fuzz_x509 fuzz_pkcs15 fuzz_card_g fuzz_card_o fuzz_pkcs11 \
         fuzz_ca_http fuzz_ca_cmp; do
    [ -x "$FZ/$t" ] || { echo "seeds: $FZ/$t missing: make fuzz-build" >&2; exit 1; }
    mkdir -p "$RAW/$t"
done
[ -x "$BUILD/cmp-test-ca" ] || { echo "seeds: $BUILD/cmp-test-ca missing: make" >&2; exit 1; }

hex() { # file, hex...
    f=$1; shift
    echo "$*" | tr -d ' \n' | xxd -r -p >"$f"
}

# ---- recorded from profile O through the APDU trace ----
: >"$RAW/empty"
CARDRENEW_APDU_TRACE=$RAW/trace "$FZ/fuzz_card_o" "$RAW/empty" >/dev/null 2>&1
# Each EF's bytes (select by FID, then READ BINARY), and every answer.
awk -v out="$RAW" '
    /^> 00 A4 01 04 02 / { fid = $7 $8 "." ++sel; next }
    /^> 00 B0 / && $4 != "9C" { rb = 1; next }
    /^>/ { rb = 0; next }
    /^< / {
        n++; line = ""
        for (i = 2; i <= NF - 2; i++) line = line $i
        if (line != "") print line > (out "/resp." n)
        if (rb && fid != "") printf "%s", line >> (out "/ef." fid)
        rb = 0
    }' "$RAW/trace"
for f in "$RAW"/resp.*; do
    xxd -r -p "$f" >"$RAW/fuzz_tlv/$(basename "$f")"
done
kind() { # kind byte, EF
    for f in "$RAW/ef.$2".*; do
        [ -f "$f" ] || continue
        { printf "\\$(printf %o "$1")"; xxd -r -p "$f"; } >"$RAW/fuzz_pkcs15/$(basename "$f")"
    done
}
kind 0 7002; kind 1 7004; kind 2 7005; kind 3 7001; kind 4 5031; kind 5 5032
for f in "$RAW"/ef.34*; do
    xxd -r -p "$f" >"$RAW/fuzz_x509/$(basename "$f")"
done
openssl req -x509 -newkey rsa:1024 -nodes -keyout "$RAW/k" -subj "/CN=Seed RSA" \
    -days 30 -outform DER -out "$RAW/fuzz_x509/rsa1024" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$RAW/k" \
    -subj "/O=NHS/CN=Seed EC" -days 30 -outform DER -out "$RAW/fuzz_x509/p256" 2>/dev/null

# ---- card drivers: [fault stream length, 2 bytes] ops... [faults] ----
# An op is: a byte (FF: close and open again), the op number, its arguments
# (fuzz_card.c): 01 read, 00 counter, 02 PIN status, 03 verify (00: right
# PIN), 04 change, 05 unblock, 06 logout, 07 sign, 08 decipher, 09 generate,
# 0A write certificate, 0B delete certificate, 0C delete key.
DI="30213009 06052B0E03021A 0500 0414 00112233445566778899AABBCCDDEEFF00112233"
card() { # target, name, hex
    t=$1; n=$2; shift 2
    hex "$RAW/$t/$n" "$@"
}
for p in g o; do
    t=fuzz_card_$p
    card $t read       "0000 0001"
    card $t status     "0000 0002 0000 0006 0001"
    card $t verify     "0000 0003 00 0002"
    card $t sign       "0000 0003 00 0001 0007 00 00 23 $DI 00"
    card $t decipher   "0000 0003 00 0001 0008 00 00 00"
    card $t delcert    "0000 0003 00 0001 000B 00 0001"
    card $t delkey     "0000 0003 00 0001 000C 01 0001"
    card $t change     "0000 0004 00 00"
    card $t reopen     "0000 FF 0001"
    # faults: 61xx split and 6Cxx on the read, a reset at a begin
    card $t faults     "0004 0001 0001 98 05 00 A0 10"
    card $t pulled     "0003 0003 00 0001 E2 00 00"
done
# G: a 1024-bit key (pool key B, certificate 1), its certificate, deletion
card fuzz_card_g renew "0000 0003 00 0009 02 000A C0 01 00 0001 000B 00"
card fuzz_card_o unblock "0000 0005 00 00 0002"
card fuzz_card_o renew "0000 0003 00 0009 00 000A C0 03 01 0001"
card fuzz_card_o renew_ec "0000 0003 00 0009 05 000A C0 05 00 0001"
card fuzz_card_o sign_ec "0000 0003 00 0001 0007 01 02 20 $(printf '%064d' 0) 00"

# ---- PKCS#11: op number (fuzz_pkcs11.c) and its arguments ----
# 00 slot list, 05 open session (slot), 09 login, 0D find init, 0E find,
# 10 get attributes, 13 sign init, 14 sign, 16 verify (C3: the last
# signature), 17 verify init, 18 decrypt init, 19 decrypt (how 00: a
# cryptogram for O's key, 01: for G's), 1A generate key pair, 1B create
# object, 1C destroy, 1F finalize and initialize. Objects as found: G 0
# certificate, 1 public, 2 private key, 3 and 4 the pending key's; O 0-2
# the RSA credential, 3-5 the EC one.
OPEN0="05 00 00"; OPEN1="05 00 01"; LOGIN="09 00 00 00"
FIND="0D 00 00 0E 00 10"
Z32=$(printf '%064d' 0); Z64=$(printf '%0128d' 0)
p11() { card fuzz_pkcs11 "$@"; }
p11 list      "0000 00 00 00 01 00 02 00 03 00 00 04 00 00 00"
p11 attrs_g   "0000 $OPEN0 $FIND 10 00 00 04 00 40 00 08 40 00 09 40 00 0E C0 10 00 01 03 20 00 00 04 00"
p11 attrs_o   "0000 $OPEN1 $FIND 10 00 05 03 05 40 00 41 1A C0 20 00"
p11 sign_g    "0000 $OPEN0 $LOGIN $FIND 13 00 01 00 02 14 00 00 0040 $Z64 00 17 00 01 00 01 16 00 C3 0040 $Z64"
p11 sign_o    "0000 $OPEN1 $LOGIN $FIND 13 00 02 00 02 14 00 00 0040 $Z64 00 17 00 02 00 01 16 00 C3 0040 $Z64"
p11 ecdsa_o   "0000 $OPEN1 $LOGIN $FIND 13 00 07 00 05 14 00 00 0020 $Z32 00 17 00 07 00 04 16 00 C3 0020 $Z32"
p11 pss_o     "0000 $OPEN1 $LOGIN $FIND 13 00 06 80 00 02 14 00 00 0040 $Z64 00"
p11 multi_o   "0000 $OPEN1 $LOGIN $FIND 13 00 02 00 02 15 00 0040 $Z64 01 15 00 0010 $Z32 01 16 00 00 00"
p11 decrypt_o "0000 $OPEN1 $LOGIN $FIND 18 00 00 00 02 19 00 00 0010 $Z32 00"
p11 decrypt_g "0000 $OPEN0 $LOGIN $FIND 18 00 00 00 02 19 00 01 0010 $Z32 00"
p11 renew_o   "0000 $OPEN1 $LOGIN 1A 00 09 00 02 06 00 00 01 00 01 02 01 00 01 02 00 01 1B 00 03 00 00 00 0A 00 01 09 00 03"
p11 renew_g   "0000 $OPEN0 $LOGIN 1A 00 09 00 02 06 00 01 01 00 01 02 01 00 01 02 00 01 1B 00 03 00 00 00 0A 00 01 09 00 01"
p11 destroy_g "0000 $OPEN0 $LOGIN $FIND 1C 00 02 1F"
p11 pulled    "0002 $OPEN1 $LOGIN $FIND 10 00 00 00 E2 00"

# ---- the CA's HTTP ----
req() { printf "$2" >"$RAW/fuzz_ca_http/$1"; }
req curl "POST /.well-known/cmp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Type: application/pkixcmp\r\nContent-Length: 42\r\nExpect: 100-continue\r\n\r\n"
req openssl "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nPragma: no-cache\r\nContent-Type: application/pkixcmp\r\nContent-Length: 1200\r\n\r\n0\202"
req get "GET /.well-known/cmp HTTP/1.1\r\nHost: x\r\n\r\n"
req chunked "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/pkixcmp\r\n\r\n"

# ---- the CA's CMP, as openssl cmp sends it ----
CAD=$RAW/ca
"$BUILD/cmp-test-ca" init --dir "$CAD" >/dev/null
"$BUILD/cmp-test-ca" serve --dir "$CAD" --port 0 --port-file "$RAW/port" 2>/dev/null &
CA_PID=$!
i=0
while [ ! -s "$RAW/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$RAW/port")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$RAW/k1" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$RAW/k2" 2>/dev/null
mkdir -p "$RAW/cmp"
cmp() { # name, args...
    n=$1; shift
    openssl cmp -server "127.0.0.1:$PORT" -path /.well-known/cmp -trusted "$CAD/ca.pem" \
        -reqout "$RAW/cmp/$n.req1,$RAW/cmp/$n.req2" \
        -rspout "$RAW/cmp/$n.rsp1,$RAW/cmp/$n.rsp2" "$@" >/dev/null 2>&1 || true
}
set -- $("$BUILD/cmp-test-ca" secret --dir "$CAD")
cmp ir -cmd ir -ref "$1" -secret "pass:$2" -newkey "$RAW/k1" -subject "/CN=Seed" \
    -certout "$RAW/c1.pem"
cmp kur -cmd kur -key "$RAW/k1" -cert "$RAW/c1.pem" -newkey "$RAW/k2" -certout "$RAW/c2.pem"
cmp rr -cmd rr -key "$RAW/k2" -cert "$RAW/c2.pem" -oldcert "$RAW/c2.pem"
cp "$RAW"/cmp/* "$RAW/fuzz_ca_cmp/" 2>/dev/null || true
kill "$CA_PID" 2>/dev/null; wait "$CA_PID" 2>/dev/null || true; CA_PID=

# ---- minimise into the tree ----
for t in "$RAW"/fuzz_*; do
    t=$(basename "$t")
    name=${t#fuzz_}
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    rm -rf "$CORPUS/$name"
    mkdir -p "$CORPUS/$name"
    "$FZ/$t" -merge=1 -artifact_prefix="$RAW/" "$CORPUS/$name" "$RAW/$t" >/dev/null 2>&1
    echo "seeds: $name: $(ls "$RAW/$t" | wc -l) made, $(ls "$CORPUS/$name" | wc -l) kept"
done
