#!/bin/sh
# An https CA URL: the test CA behind nginx as the TLS terminator, its TLS
# certificate from a TLS CA of this test's own. Trusting only the system's
# store, or a URL whose host is not in the certificate, is refused at the
# reachability check, before the card is touched (exit 6, the card's
# certificate unchanged); with ca_tls_trust naming the TLS CA the card is
# renewed over TLS (nginx logs the CMP POSTs); an http URL to the TLS port
# fails as the CA's; through https_proxy (a loopback CONNECT proxy) it
# renews again, the tunnel in the proxy's log.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
for t in nginx openssl python3; do
    command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
W=$(mktemp -d /tmp/renew-https.XXXXXX)
trap 'rm -rf "$W"' EXIT
export B W XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
export CARDRENEW_MODULE=$B/cardrenew-pkcs11.so CARDRENEW_HOOK_DIR=$W/no-hooks
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

# The TLS CA and nginx's certificate for localhost (not 127.0.0.1).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=cardrenew test TLS CA" -keyout "$W/tlsca.key" -out "$W/tlsca.pem" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$W/srv.key" -out "$W/srv.csr" 2>/dev/null &&
printf 'subjectAltName=DNS:localhost\n' >"$W/san" &&
openssl x509 -req -in "$W/srv.csr" -CA "$W/tlsca.pem" -CAkey "$W/tlsca.key" \
    -CAcreateserial -days 2 -extfile "$W/san" -out "$W/srv.pem" 2>/dev/null ||
    { echo "FAIL: cannot make the TLS certificates"; exit 1; }

# A CONNECT proxy: tunnels to the host:port asked for; each request line
# is logged.
cat >"$W/proxy.py" <<'PY'
import socket, socketserver, sys, threading
log, portfile = sys.argv[1], sys.argv[2]
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
class H(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode().strip()
        while self.rfile.readline().strip():
            pass
        with open(log, "a") as f:
            f.write(line + "\n")
        verb, target = line.split()[:2]
        if verb != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 CONNECT only\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        up = socket.create_connection((host, int(port)), 10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        t = threading.Thread(target=pipe, args=(up, self.connection), daemon=True)
        t.start()
        pipe(self.connection, up)
        t.join()
class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY

cat >"$W/inside.sh" <<'INSIDE'
fail() { echo "FAIL: $*"; exit 1; }
hostport=$(echo "$CARDRENEW_CA_URL" | sed 's|^http://||; s|/.*||')
path=$(echo "$CARDRENEW_CA_URL" | sed 's|^http://[^/]*||')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$W/tmp"
{
    echo "worker_processes 1; pid $W/nginx.pid; error_log $W/error.log info;"
    echo "events { worker_connections 64; }"
    echo "http {"
    echo "    access_log $W/access.log;"
    for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $W/tmp/$t;"; done
    echo "    server {"
    echo "        listen 127.0.0.1:$port ssl;"
    echo "        ssl_certificate $W/srv.pem; ssl_certificate_key $W/srv.key;"
    echo "        location / { proxy_pass http://$hostport; }"
    echo "    }"
    echo "}"
} >"$W/nginx.conf"
nginx -p "$W" -c "$W/nginx.conf" -g 'daemon off;' >"$W/nginx.out" 2>&1 & n=$!
python3 "$W/proxy.py" "$W/proxy.log" "$W/proxy.port" & p=$!
trap 'kill $n $p 2>/dev/null; wait $n $p 2>/dev/null' EXIT
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null &&
      [ -s "$W/proxy.port" ]; do
    i=$((i + 1))
    [ $i -le 100 ] || fail "nginx or the proxy did not start: $(cat "$W/nginx.out" "$W/error.log")"
    sleep 0.05
done
https=https://localhost:$port$path
mkdir -p "$XDG_CONFIG_HOME/cardrenew"
conf=$XDG_CONFIG_HOME/cardrenew/cardrenew.conf
expiry() {
    "$B/cardrenew" --status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["not_after"])'
}
# renew NAME CODE TEXT [URL]: cardrenew --renew exits CODE and says TEXT.
renew() {
    "$B/cardrenew" --renew --yes --force --pin-source env:CARDRENEW_PIN --ca "${4:-$https}" \
        >"$W/$1.out" 2>&1
    rc=$?
    [ "$rc" = "$2" ] || fail "$1: exit $rc, want $2: $(cat "$W/$1.out")"
    grep -q "$3" "$W/$1.out" || fail "$1: no \"$3\" in: $(cat "$W/$1.out")"
    echo "ok   $1: exit $rc: $(grep -m1 "$3" "$W/$1.out")"
}
before=$(expiry)
[ -n "$before" ] || fail "no expiry in cardrenew --status"
# The system's trust store does not hold the test's TLS CA.
renew untrusted 6 "is not the one trusted for TLS"
[ "$(expiry)" = "$before" ] || fail "the card changed after a refused TLS connection"
echo "ca_tls_trust = $W/tlsca.pem" >"$conf"
# The certificate names localhost, not 127.0.0.1.
renew wrong-name 6 "is not the one trusted for TLS" "https://127.0.0.1:$port$path"
[ "$(expiry)" = "$before" ] || fail "the card changed after a refused TLS connection"
renew tls 0 "now renewed"
grep -q "POST $path" "$W/access.log" || fail "nginx logged no CMP POST: $(cat "$W/access.log")"
after=$(expiry)
[ "$after" != "$before" ] || fail "the expiry did not change after the renewal over TLS"
echo "ok   the certificate now expires $after (was $before)"
# An http URL to the TLS port: nginx answers 400 in plain HTTP, no CMP.
echo "ca_timeout = 5" >>"$conf"
renew plain-to-tls 6 "^cardrenew: .*certificate authority" "http://localhost:$port$path"
https_proxy=http://127.0.0.1:$(cat "$W/proxy.port") renew proxied 0 "now renewed"
grep -q "^CONNECT localhost:$port " "$W/proxy.log" ||
    fail "no CONNECT in the proxy log: $(cat "$W/proxy.log")"
echo "ok   through https_proxy: $(sort -u "$W/proxy.log" | tr '\n' ' ')"
INSIDE
tests/sandbox --expires-in 20 -- sh "$W/inside.sh"
