#!/bin/sh
# Behind a site proxy: the CA (here an address where nothing listens) cannot be reached from the desktop and
# only a loopback HTTP proxy (this test's) reaches it. Without http_proxy
# the renewal stops at the reachability check (exit 6); with it, the check
# and every CMP message go through the proxy and the card is renewed; with
# the CA in no_proxy the proxy is bypassed again; a proxy that is down is
# named as such.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export B W XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
export CARDRENEW_MODULE=$B/cardrenew-pkcs11.so CARDRENEW_HOOK_DIR=$W/no-hooks
# A forward proxy: "POST http://any.host:port/path" goes to the real CA
# (UPSTREAM host:port); each request line is logged.
cat >"$W/proxy.py" <<'PY'
import http.client, http.server, sys, urllib.parse
upstream, log, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
class P(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        with open(log, "a") as f:
            f.write(self.requestline + "\n")
        u = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        c = http.client.HTTPConnection(upstream, timeout=30)
        c.request("POST", u.path or "/", body, {"Content-Type": self.headers.get("Content-Type", "")})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", r.getheader("Content-Type", "application/pkixcmp"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), P)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
cat >"$W/inside.sh" <<'INSIDE'
hostport=$(echo "$CARDRENEW_CA_URL" | sed 's|^http://||; s|/.*||')
path=$(echo "$CARDRENEW_CA_URL" | sed 's|^http://[^/]*||')
/usr/bin/python3 "$W/proxy.py" "$hostport" "$W/proxy.log" "$W/proxy.port" & p=$!
i=0; while [ ! -s "$W/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
export CARDRENEW_CA_URL="http://127.0.0.3:${hostport#*:}$path"
unset http_proxy HTTP_PROXY no_proxy NO_PROXY
renew() { "$B/cardrenew" --renew --yes --force --pin-source env:CARDRENEW_PIN >"$W/$1.out" 2>&1; echo "$1 $?" >>"$W/rc"; }
renew direct
http_proxy=http://127.0.0.1:$(cat "$W/proxy.port") no_proxy=127.0.0.3 renew bypassed
http_proxy=http://127.0.0.1:1 renew proxy-down
http_proxy=http://127.0.0.1:$(cat "$W/proxy.port") renew proxied
"$B/cardrenew" --status >"$W/status" 2>&1
kill $p
INSIDE
tests/sandbox --expires-in 20 -- sh "$W/inside.sh" || { echo "FAIL: the sandbox run"; exit 1; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
printf 'direct 6\nbypassed 6\nproxy-down 6\nproxied 0\n' | diff - "$W/rc" ||
    { bad "exit codes"; tail -n 3 "$W"/*.out; }
grep -q '127.0.0.3.*cannot be reached' "$W/direct.out" || bad "direct: $(cat "$W/direct.out")"
grep -q 'the proxy http://127.0.0.1:1 (http_proxy) .* cannot be reached' "$W/proxy-down.out" ||
    bad "proxy down: $(cat "$W/proxy-down.out")"
grep -q ' 730 ' "$W/status" || { bad "not renewed through the proxy"; cat "$W/proxied.out" "$W/status"; }
n=$(grep -c '^POST http://127.0.0.3:[0-9]*/.* HTTP/1\.[01]$' "$W/proxy.log" 2>/dev/null)
[ "${n:-0}" -ge 2 ] || { bad "the proxy saw ${n:-0} CMP requests, want kur and certConf"; cat "$W/proxy.log"; }
[ $fail -eq 0 ] && echo "ok: renewed through a loopback proxy ($n CMP messages); no_proxy bypasses it; a dead proxy is named"
exit $fail
