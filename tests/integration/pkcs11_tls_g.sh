#!/bin/sh
# Profile G (PKCS#1 v1.5 with SHA-1 only) against TLS 1.2 servers, through
# the module, by gnutls-cli (--provider) and openssl s_client (libp11
# engine), the server being openssl s_server -Verify 1:
#   - a server that asks for RSA+SHA256 client signatures only: each client
#     fails at once, naming the PKCS#11 error (C_Sign: CKR_DATA_LEN_RANGE,
#     "PKCS #11 error in data" / "Data len range"), no signature command
#     reaches the card, and the server verifies no certificate. The
#     `timeout 60` is a hang detector only, not a timing assertion.
#   - the same server asking for RSA+SHA1 (README.md, "Servers for a G
#     card"): both clients authenticate with the card's certificate.
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in gnutls-cli openssl pkcs11-tool unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    eng=$(openssl version -e | sed 's/^[^"]*"//; s/"$//')/pkcs11.so
    [ -f "$eng" ] || { echo "skipped: no libp11 engine ($eng; libengine-pkcs11-openssl)"; exit 77; }
    for p in cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    tests/sandbox --profile G -- sh "$0" --inner "$eng"
    exit
fi

# ---- inside the sandbox ----
ENG=$2
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
M=$BUILD/cardrenew-pkcs11.so
T=$CARDRENEW_SANDBOX/tlsg
mkdir -p "$T"
srv=
trap '[ -n "$srv" ] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
die() { echo "FAIL $*"; exit 1; }

pct() { echo "$1" | sed 's/%/%25/g; s/ /%20/g; s/;/%3B/g'; }
label=$(pkcs11-tool --module "$M" -T 2>/dev/null | sed -n 's/^ *token label *: //p')
obj=$(pkcs11-tool --module "$M" -O --type cert 2>/dev/null | sed -n 's/^ *label: *//p' | head -1)
[ -n "$label" ] && [ -n "$obj" ] || die "no token or certificate"
uri="pkcs11:token=$(pct "$label");object=$(pct "$obj")"
pkcs11-tool --module "$M" --read-object --type cert --label "$obj" -o "$T/card.der" >/dev/null 2>&1 &&
    openssl x509 -inform DER -in "$T/card.der" -out "$T/card.pem" || die "cannot read the card's certificate"
cn=$(openssl x509 -in "$T/card.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.pem" \
    -subj /CN=localhost -days 2 2>/dev/null || die "server certificate"
cat >"$T/ossl.cnf" <<EOF
openssl_conf = init
[init]
engines = eng
[eng]
pkcs11 = p11
[p11]
engine_id = pkcs11
dynamic_path = $ENG
MODULE_PATH = $M
PIN = $CARDRENEW_PIN
init = 1
EOF
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req"

start_server() { # client signature algorithms
    [ -n "$srv" ] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
    for try in 1 2 3 4 5; do
        port=$((20000 + ($$ * 7 + try * 131) % 40000))
        # SHA-1 signatures need security level 0 in OpenSSL 3.
        openssl s_server -accept "127.0.0.1:$port" -cert "$T/srv.pem" -key "$T/srv.key" \
            -tls1_2 -cipher DEFAULT:@SECLEVEL=0 -client_sigalgs "$1" -Verify 1 \
            -CAfile "$CARDRENEW_CA_CERT" -www >"$T/srv.log" 2>&1 &
        srv=$!
        n=0
        while [ $n -lt 50 ] && kill -0 "$srv" 2>/dev/null && ! grep -q ACCEPT "$T/srv.log"; do
            n=$((n + 1)); sleep 0.1
        done
        grep -q ACCEPT "$T/srv.log" && return 0
        kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
    done
    die "s_server did not start: $(cat "$T/srv.log")"
}
gnutls_() {
    GNUTLS_PIN=$CARDRENEW_PIN timeout 60 gnutls-cli --provider "$M" --no-ca-verification \
        -p "$port" 127.0.0.1 --x509certfile "$uri;type=cert" --x509keyfile "$uri;type=private" \
        <"$T/req" 2>&1
}
s_client_() {
    OPENSSL_CONF=$T/ossl.cnf timeout 60 openssl s_client -connect "127.0.0.1:$port" \
        -engine pkcs11 -keyform ENGINE -key "$uri;type=private" -cert "$T/card.pem" \
        -cipher DEFAULT:@SECLEVEL=0 -ign_eof <"$T/req" 2>&1
}
# A client's run with the module's calls and the card's APDUs traced.
run() { # client name
    : >"$T/$2.p11"
    : >"$T/$2.apdu"
    CARDRENEW_DEBUG=$T/$2.p11 CARDRENEW_APDU_TRACE=$T/$2.apdu $1 >"$T/$2.out"
    echo $?
}
signed_on_card() { grep -q '^> .. 2A 9E' "$1"; }     # PSO: COMPUTE DIGITAL SIGNATURE

start_server RSA+SHA256
for c in gnutls_ s_client_; do
    rc=$(run $c "$c-sha256")
    out=$T/$c-sha256.out
    [ "$rc" = 124 ] && { bad "${c%_}: still running after 60 s (a hang)"; continue; }
    [ "$rc" != 0 ] || { bad "${c%_}: exit 0 against a SHA-256-only server"; continue; }
    case $c in
    gnutls_) why=$(grep -m1 "PKCS #11 error in data" "$out") ;;
    s_client_) why=$(grep -m1 "Data len range" "$out" | sed 's/^[0-9A-F]*:error:[0-9A-F]*://') ;;
    esac
    [ -n "$why" ] || bad "${c%_}: no PKCS#11 error named: $(grep -iE 'error|fail' "$out" | head -3)"
    grep -q "C_Sign(session [0-9]*) -> CKR_DATA_LEN_RANGE" "$T/$c-sha256.p11" ||
        bad "${c%_}: C_Sign did not answer CKR_DATA_LEN_RANGE: $(grep C_Sign "$T/$c-sha256.p11")"
    signed_on_card "$T/$c-sha256.apdu" && bad "${c%_}: a signature was asked of the card"
    grep -q "^Client certificate" "$out" && bad "${c%_}: the server verified a certificate"
    [ -n "$why" ] && ok "${c%_}, server asking for RSA+SHA256: exit $rc at once, \"$why\", no APDU signed"
done
grep -h "this card takes" "$T"/*-sha256.p11 | head -1 | sed 's/^/     trace: /'

start_server RSA+SHA1
for c in gnutls_ s_client_; do
    rc=$(run $c "$c-sha1")
    out=$T/$c-sha1.out
    if [ "$rc" = 0 ] && sed -n '/^Client certificate/,$p' "$out" | grep -q "CN *= *$cn" &&
        signed_on_card "$T/$c-sha1.apdu"; then
        ok "${c%_}, server asking for RSA+SHA1: the card's certificate authenticated (CN=$cn)"
    else
        bad "${c%_}, server asking for RSA+SHA1: exit $rc: $(grep -iE 'error|fail' "$out" | head -3)"
    fi
done
[ $fails -eq 0 ]
