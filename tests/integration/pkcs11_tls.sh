#!/bin/sh
# TLS client authentication with the card's key through the module:
# gnutls-cli (TLS 1.3, so RSA-PSS on the card) against openssl s_server,
# which must report the card's certificate as the client's. Profile O
# only: a SHA-1-only card (G) cannot sign for modern TLS.
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in gnutls-cli pkcs11-tool openssl unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    out=$(mktemp /tmp/pkcs11-tls-test.XXXXXX)
    tests/sandbox --profile O -- sh "$0" --inner >"$out" 2>&1
    rc=$?
    cat "$out"
    if [ $rc -eq 2 ] && grep -q "is not in this build" "$out"; then
        rm -f "$out"
        echo "skipped: profile O is not in vcard yet"
        exit 77
    fi
    rm -f "$out"
    exit $rc
fi

# ---- inside the sandbox ----
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
M=$BUILD/cardrenew-pkcs11.so
T=$CARDRENEW_SANDBOX/tls
mkdir -p "$T"
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/srv.log" ] && sed 's/^/  server: /' "$T/srv.log"; exit 1; }

pct() { echo "$1" | sed 's/%/%25/g; s/ /%20/g; s/;/%3B/g'; }
label=$(pkcs11-tool --module "$M" -T 2>/dev/null | sed -n 's/^ *token label *: //p')
obj=$(pkcs11-tool --module "$M" -O --type cert 2>/dev/null | sed -n 's/^ *label: *//p' | head -1)
cn=$(pkcs11-tool --module "$M" -O --type cert 2>/dev/null | sed -n 's/^ *subject:.*CN=//p' | head -1)
[ -n "$label" ] && [ -n "$obj" ] && [ -n "$cn" ] || fail "no token or certificate"
uri="pkcs11:token=$(pct "$label");object=$(pct "$obj")"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.pem" \
    -subj /CN=localhost -days 2 2>/dev/null || fail "server certificate"
port=$((20000 + $$ % 20000))
openssl s_server -accept "127.0.0.1:$port" -cert "$T/srv.pem" -key "$T/srv.key" \
    -Verify 1 -CAfile "$CARDRENEW_CA_CERT" -www >"$T/srv.log" 2>&1 &
srv=$!
i=0
while ! grep -q ACCEPT "$T/srv.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "s_server did not start"; sleep 0.1
done
printf 'GET / HTTP/1.0\r\n\r\n' | GNUTLS_PIN=$CARDRENEW_PIN timeout 30 gnutls-cli --provider "$M" \
    --no-ca-verification -p "$port" 127.0.0.1 \
    --x509certfile "$uri;type=cert" --x509keyfile "$uri;type=private" >"$T/cli.log" 2>&1 ||
    fail "gnutls-cli: $(cat "$T/cli.log")"
grep -q "Handshake was completed" "$T/cli.log" || fail "no handshake: $(cat "$T/cli.log")"
grep -q "TLS1.3" "$T/cli.log" || fail "not TLS 1.3: $(grep -i 'version' "$T/cli.log")"
sed -n '/^Client certificate/,$p' "$T/cli.log" | grep -q "CN=$cn" ||
    fail "the server did not get the card's certificate: $(cat "$T/cli.log")"
echo "ok   TLS 1.3 client authentication with the card's key (CN=$cn)"
