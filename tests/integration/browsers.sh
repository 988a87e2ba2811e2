#!/bin/sh
# Real browsers keep the card: Firefox ESR and Chromium (Debian), headful
# under Xvfb, the module in their NSS database, xdotool answering their PIN
# dialogs, nginx on 127.0.0.1 asking for a client certificate from the
# sandbox's CA (a full handshake on every visit: no session cache or
# tickets, keepalive 0; the log holds $ssl_client_serial). In ONE browser
# process per browser and profile:
#   1. first visit: one PIN dialog, the page shows the holder's DN;
#   2. cardrenew --renew in another process: the next visits (a fresh port,
#      then the first port) present the new certificate, no PIN dialog;
#   3. the card pulled and put back: at most one PIN dialog, and the
#      certificate works again (a fresh port and the first port);
#   4. profile G only: a TLS 1.3 server is refused at once, with no PIN
#      dialog and no signature asked of the card;
#   5. profile G only: a TLS 1.2 server asking for RSA+SHA256 client
#      signatures only: the module refuses C_Sign (CKR_DATA_LEN_RANGE, no
#      APDU); Chromium ends the handshake at once (asserted); Firefox
#      leaves it hanging (about 40 s, then "The connection has timed out":
#      it drops the signing failure, README.md), so for Firefox what
#      nginx saw within 10 s is only reported.
# Profile O against TLS 1.2/1.3; profile G (SHA-1 only) against a TLS 1.2
# server that asks for RSA+SHA1 signatures. Firefox loads the module from
# /etc/firefox/policies/policies.json, Chromium from $HOME/.pki/nssdb; the
# policy directories are the run's own (bind-mounted in a private mount
# namespace), so the host's policies neither leak in nor get left behind.
# Screenshots (PNG, from Xvfb's own frame buffer) and nginx logs are kept
# in $BUILD/browsers/.
# BROWSERS (default "firefox chromium") and PROFILES ("O G") narrow it.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in Xvfb xdotool nginx certutil modutil openssl unshare pcscd python3; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    rm -rf "$BUILD/browsers"
    mkdir -p "$BUILD/browsers"
    ran=0
    for B in ${BROWSERS:-firefox chromium}; do
        case $B in
        firefox) command -v firefox-esr >/dev/null || { echo "note: firefox-esr not installed"; continue; } ;;
        chromium) command -v chromium >/dev/null || { echo "note: chromium not installed"; continue; } ;;
        *) echo "FAIL: unknown browser $B"; exit 1 ;;
        esac
        for P in ${PROFILES:-O G}; do
            out=$BUILD/browsers/$B-$P.log
            BROWSER=$B PROFILE=$P timeout 240 sh tests/sandbox --profile "$P" -- \
                unshare --mount --propagation private sh "$0" --inner >"$out" 2>&1
            rc=$?
            cat "$out"
            [ $rc -eq 0 ] || { echo "FAIL: $B, profile $P (exit $rc; log $out)"; exit 1; }
            echo "ok   $B, profile $P"
            ran=$((ran + 1))
        done
    done
    [ $ran -gt 0 ] || { echo "skipped: no browser installed"; exit 77; }
    exit 0
fi

# ---- inside the sandbox ----
P=$PROFILE
W=$CARDRENEW_SANDBOX/br
OUT=$BUILD/browsers/$BROWSER-$P
M=$BUILD/cardrenew-pkcs11.so
export CARDRENEW_DEBUG="$W/p11.trace"       # the browser's PKCS#11 calls
mkdir -p "$W/home" "$W/tmp" "$W/fb" "$OUT"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    cp "$W"/access.log "$W"/error.log "$OUT/" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL ($BROWSER, profile $P): $*" >&2; exit 1; }
say() { echo "[$BROWSER $P] $*" >&2; }
# The browsers' policy directories, private to this run (see the top).
for d in /etc/firefox/policies /etc/chromium/policies/managed; do
    mkdir -p "$d" "$W/policy$d" && mount --bind "$W/policy$d" "$d" || fail "cannot bind $d"
done

# ---- a server CA and certificate for 127.0.0.1 ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/root.key" -out "$W/root.pem" \
    -subj "/CN=cardrenew browser test root" -days 2 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    2>/dev/null || fail "server root"
openssl req -newkey rsa:2048 -nodes -keyout "$W/srv.key" -out "$W/srv.csr" \
    -subj "/CN=127.0.0.1" 2>/dev/null || fail "server key"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$W/srv.ext"
openssl x509 -req -in "$W/srv.csr" -CA "$W/root.pem" -CAkey "$W/root.key" \
    -CAcreateserial -days 2 -extfile "$W/srv.ext" -out "$W/srv.pem" 2>/dev/null ||
    fail "server certificate"

# ---- nginx: one server on six ports ----
ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(6)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
P1=$1 P2=$2 P3=$3 P4=$4 P5=$5
listen=""
for p in $1 $2 $3 $4 $5; do listen="$listen listen 127.0.0.1:$p ssl;"; done
if [ "$P" = G ]; then
    # A G card signs PKCS#1 v1.5 SHA-1 only: TLS 1.2, and a certificate
    # request that asks for RSA+SHA1. (SignatureAlgorithms RSA+SHA1 would
    # also make the server sign with SHA-1, which Chromium 156 refuses:
    # "no shared signature algorithms".)
    tls="ssl_protocols TLSv1.2; ssl_ciphers DEFAULT:@SECLEVEL=0;
         ssl_conf_command ClientSignatureAlgorithms RSA+SHA1;"
else
    tls="ssl_protocols TLSv1.2 TLSv1.3;"
fi
cat >"$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log info;
events { worker_connections 64; }
http {
    log_format cert '\$server_port serial=\$ssl_client_serial reused=\$ssl_session_reused verify=\$ssl_client_verify \$ssl_protocol status=\$status dn="\$ssl_client_s_dn"';
    access_log $W/access.log cert;
    client_body_temp_path $W/tmp/body;
    proxy_temp_path $W/tmp/proxy;
    fastcgi_temp_path $W/tmp/fastcgi;
    uwsgi_temp_path $W/tmp/uwsgi;
    scgi_temp_path $W/tmp/scgi;
    keepalive_timeout 0;
    server {
        $listen
        ssl_certificate $W/srv.pem;
        ssl_certificate_key $W/srv.key;
        ssl_client_certificate $CARDRENEW_CA_CERT;
        ssl_verify_client on;
        ssl_session_cache off;
        ssl_session_tickets off;
        $tls
        location = /favicon.ico { access_log off; return 404; }
        location / {
            default_type text/html;
            return 200 "<html><body><h1>\$ssl_client_s_dn</h1><p>certificate serial \$ssl_client_serial</p></body></html>";
        }
    }
}
EOF
if [ "$P" = G ]; then
    # Where a G card cannot work: a TLS 1.3 server, and a TLS 1.2 server
    # that asks for SHA-256 client signatures only.
    X13=$6
    X256=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    sed -i '$d' "$W/nginx.conf"
    cat >>"$W/nginx.conf" <<EOF
    server {
        listen 127.0.0.1:$X256 ssl;
        ssl_certificate $W/srv.pem;
        ssl_certificate_key $W/srv.key;
        ssl_client_certificate $CARDRENEW_CA_CERT;
        ssl_verify_client on;
        ssl_session_cache off;
        ssl_session_tickets off;
        ssl_protocols TLSv1.2;
        ssl_conf_command ClientSignatureAlgorithms RSA+SHA256;
        location = /favicon.ico { access_log off; return 404; }
        location / { return 200 "ok"; }
    }
EOF
    cat >>"$W/nginx.conf" <<EOF
    server {
        listen 127.0.0.1:$X13 ssl;
        ssl_certificate $W/srv.pem;
        ssl_certificate_key $W/srv.key;
        ssl_client_certificate $CARDRENEW_CA_CERT;
        ssl_verify_client on;
        ssl_session_cache off;
        ssl_session_tickets off;
        ssl_protocols TLSv1.3;
        location = /favicon.ico { access_log off; return 404; }
        location / { return 200 "ok"; }
    }
}
EOF
fi
: >"$W/access.log"
nginx -p "$W" -c "$W/nginx.conf" -g 'daemon off;' >"$W/nginx.out" 2>&1 &
pids="$! $pids"
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $P1), 1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 100 ] || fail "nginx did not start: $(cat "$W/nginx.out" "$W/error.log")"; sleep 0.05
done

# ---- X ----
exec 5>"$W/display"
Xvfb -displayfd 5 -screen 0 1280x900x24 -fbdir "$W/fb" -nolisten tcp >"$W/xvfb.log" 2>&1 &
pids="$! $pids"
i=0
while [ ! -s "$W/display" ]; do
    i=$((i + 1)); [ $i -le 100 ] || fail "Xvfb did not start"; sleep 0.05
done
export DISPLAY=":$(cat "$W/display")"
# A screenshot: Xvfb's frame buffer (an XWD file) written out as PNG.
shot() {
    python3 tests/tools/xwd2png.py "$W/fb/Xvfb_screen0" "$OUT/$1.png" ||
        cp "$W/fb/Xvfb_screen0" "$OUT/$1.xwd"
}

# ---- the browser, with the module in its NSS database ----
export HOME="$W/home"
unset DBUS_SESSION_BUS_ADDRESS
card_serial() { # the card's certificate serial, as nginx logs it
    id=$(pkcs11-tool --module "$M" --list-objects --type cert 2>/dev/null |
        sed -n 's/^ *ID: *//p' | head -n 1)
    [ -n "$id" ] &&
        pkcs11-tool --module "$M" --read-object --type cert --id "$id" -o "$W/card.der" \
            >/dev/null 2>&1 &&
        openssl x509 -inform DER -in "$W/card.der" -noout -serial | sed 's/^serial=//'
}
if [ "$BROWSER" = firefox ]; then
    db=$W/ffprofile
    mkdir -p "$db"
    cat >"$db/user.js" <<'EOF'
user_pref("security.default_personal_cert", "Select Automatically");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.tabs.warnOnClose", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.dns.disablePrefetch", true);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("security.osclientcerts.autoload", false);
EOF
    dialog="^Password Required"
else
    db=$HOME/.pki/nssdb
    mkdir -p "$db"
    # Chromium picks the certificate for these URLs without asking.
    policy=/etc/chromium/policies/managed/cardrenew-test.json
    printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://127.0.0.1:*\\",\\"filter\\":{}}"]}\n' >"$policy"
    dialog="^Unlock"
fi
certutil -N -d "sql:$db" --empty-password || fail "NSS database"
certutil -A -d "sql:$db" -n "test server root" -t "C,," -i "$W/root.pem" || fail "server root trust"
ffpolicy=/etc/firefox/policies/policies.json
if [ "$BROWSER" = firefox ]; then
    # README's lines: the module as a SecurityDevices policy.
    printf '{ "policies": { "SecurityDevices": { "Add": { "NHS smartcard": "%s" } } } }\n' \
        "$M" >"$ffpolicy"
    say "module loaded by $ffpolicy"
else
    modutil -dbdir "sql:$db" -add cardrenew -libfile "$M" -force >/dev/null || fail "modutil -add"
fi

# PIN dialogs: answered by xdotool (the PIN from a pipe, never argv) and counted.
: >"$W/pins"
(
    while :; do
        wid=$(xdotool search --onlyvisible --name "$dialog" 2>/dev/null | head -n 1)
        if [ -n "$wid" ]; then
            sleep 0.5
            # No window manager: X's focus follows the pointer.
            xdotool mousemove --window "$wid" 20 20 2>/dev/null
            sleep 0.2
            printf '%s' "$CARDRENEW_PIN" | xdotool type --delay 30 --file - 2>/dev/null
            xdotool key Return 2>/dev/null
            echo "$wid" >>"$W/pins"
            i=0
            while xdotool search --onlyvisible --name "$dialog" >/dev/null 2>&1 && [ $i -lt 20 ]; do
                sleep 0.25; i=$((i + 1))
            done
        fi
        sleep 0.2
    done
) &
pids="$! $pids"
pins() { wc -l <"$W/pins" | tr -d ' '; }

url() { echo "https://127.0.0.1:$1/"; }
if [ "$BROWSER" = firefox ]; then
    firefox-esr --no-remote -profile "$db" --width 1200 --height 850 "$(url "$P1")" \
        >"$W/browser.log" 2>&1 &
    bpid=$!
    title="Mozilla Firefox"
else
    chromium --no-sandbox --user-data-dir="$W/chromium" --no-first-run \
        --no-default-browser-check --disable-gpu --password-store=basic \
        --disable-background-networking --disable-features=Translate \
        --window-size=1200,850 "$(url "$P1")" >"$W/browser.log" 2>&1 &
    bpid=$!
    title="Chromium"
fi
pids="$bpid $pids"

# One visit, typed into the address bar. Waits for nginx to log the port.
visit() { # port
    n0=$(grep -c "^$1 " "$W/access.log")
    if [ -e "$W/visited" ]; then
        # No window manager: the keyboard goes where the pointer is.
        win=$(xdotool search --onlyvisible --name "$title" 2>/dev/null | head -n 1)
        [ -n "$win" ] || fail "no $BROWSER window"
        xdotool mousemove --window "$win" 600 400
        sleep 0.2
        xdotool key --clearmodifiers ctrl+l
        sleep 0.3
        xdotool type --delay 10 "$(url "$1")"
        xdotool key Return
    fi
    : >"$W/visited"
    i=0
    while [ "$(grep -c "^$1 " "$W/access.log")" -le "$n0" ]; do
        i=$((i + 1))
        [ $i -le 300 ] || { shot "timeout-$1"; fail "no request on port $1 in 30 s (PIN dialogs: $(pins))"; }
        kill -0 "$bpid" 2>/dev/null || fail "$BROWSER exited: $(tail -n 5 "$W/browser.log")"
        sleep 0.1
    done
    sleep 0.5
    grep "^$1 " "$W/access.log" | tail -n 1
}
# The visit presented this serial, and the page was served.
expect() { # port serial what
    line=$(visit "$1") || exit 1
    say "$3: $line"
    case "$line" in
    *"serial=$2 "*"status=200"*) ;;
    *) fail "$3: want serial $2 and status 200, got: $line" ;;
    esac
}

s1=$(card_serial) || fail "cannot read the card's certificate"
expect "$P1" "$s1" "1 first visit"
shot 1-first-visit
[ "$(pins)" = 1 ] || fail "1 first visit: $(pins) PIN dialogs, want 1"
grep -q "dn=\"[^\"]*CN=Test User" "$W/access.log" || fail "1: no holder DN"

"$BUILD/cardrenew" --renew --yes --module "$M" --ca "$CARDRENEW_CA_URL" \
    --ca-cert "$CARDRENEW_CA_CERT" --pin-source env:CARDRENEW_PIN >"$W/renew.out" 2>&1 ||
    fail "renewal: $(cat "$W/renew.out")"
s2=$(card_serial) || fail "cannot read the renewed certificate"
[ "$s2" != "$s1" ] || fail "the renewal did not change the certificate"
say "2 renewed by another process: serial $s1 -> $s2"
sleep 2         # NSS looks at a token at most once a second
expect "$P2" "$s2" "2 fresh port after the renewal"
expect "$P1" "$s2" "2 first port after the renewal"
shot 2-after-renewal
[ "$(pins)" = 1 ] || fail "2: $(pins) PIN dialogs, want still 1"

"$BUILD/vcard" ctl --control "$VCARD_CONTROL" vanish now >/dev/null || fail "vanish"
sleep 2
shot 3-card-out
"$BUILD/vcard" ctl --control "$VCARD_CONTROL" back >/dev/null || fail "back"
sleep 2
expect "$P3" "$s2" "3 fresh port after the card was put back"
expect "$P1" "$s2" "3 first port after the card was put back"
shot 3-card-back
n=$(pins)
[ "$n" -le 2 ] || fail "3: $((n - 1)) PIN dialogs after the card came back, want at most 1"
say "3 PIN dialogs after the card came back: $((n - 1))"
if [ "$P" = G ]; then
    # TLS 1.3 has no PKCS#1 SHA-1: the browser must give up at once, with
    # no PIN dialog and without asking the card to sign (Firefox sends no
    # certificate, nginx answers 400; Chromium ends the handshake).
    echo "=== TLS 1.3" >>"$CARDRENEW_DEBUG"
    n=$(pins)
    e0=$(wc -l <"$W/error.log")
    win=$(xdotool search --onlyvisible --name "$title" 2>/dev/null | head -n 1)
    xdotool mousemove --window "$win" 600 400
    sleep 0.2
    xdotool key --clearmodifiers ctrl+l
    sleep 0.3
    xdotool type --delay 10 "$(url "$X13")"
    xdotool key Return
    i=0
    until grep -q "^$X13 " "$W/access.log" ||
        tail -n +$((e0 + 1)) "$W/error.log" | grep -q "server: 127.0.0.1:$X13"; do
        i=$((i + 1)); [ $i -le 100 ] || fail "4 TLS 1.3: no answer in 10 s"; sleep 0.1
    done
    sleep 1
    shot 4-tls13-refused
    grep "^$X13 " "$W/access.log" | grep -q "status=200" && fail "4 TLS 1.3: a G card was accepted"
    [ "$(pins)" = "$n" ] || fail "4 TLS 1.3: a PIN dialog"
    sed -n '/=== TLS 1.3/,$p' "$CARDRENEW_DEBUG" | grep -q "C_Sign" &&
        fail "4 TLS 1.3: the browser asked the card to sign"
    say "4 TLS 1.3 refused at once, no PIN dialog, no signature asked: $(grep "^$X13 " "$W/access.log" | tail -n 1)$(tail -n +$((e0 + 1)) "$W/error.log" | grep -m1 "127.0.0.1:$X13" | sed 's/.*\] [0-9#]*: //')"

    # A TLS 1.2 server asking for SHA-256 client signatures only.
    echo "=== SHA-256" >>"$CARDRENEW_DEBUG"
    n=$(pins)
    e0=$(wc -l <"$W/error.log")
    xdotool mousemove --window "$win" 600 400
    sleep 0.2
    xdotool key --clearmodifiers ctrl+l
    sleep 0.3
    xdotool type --delay 10 "$(url "$X256")"
    xdotool key Return
    i=0
    until sed -n '/=== SHA-256/,$p' "$CARDRENEW_DEBUG" | grep -q "C_Sign(session"; do
        i=$((i + 1)); [ $i -le 100 ] || fail "5 SHA-256: the browser asked no signature in 10 s"; sleep 0.1
    done
    sed -n '/=== SHA-256/,$p' "$CARDRENEW_DEBUG" | grep -q "C_Sign(session [0-9]*) -> CKR_DATA_LEN_RANGE" ||
        fail "5 SHA-256: C_Sign did not answer CKR_DATA_LEN_RANGE: $(sed -n '/=== SHA-256/,$p' "$CARDRENEW_DEBUG" | grep C_Sign)"
    ended() {
        grep -q "^$X256 " "$W/access.log" ||
            tail -n +$((e0 + 1)) "$W/error.log" | grep -q "server: 127.0.0.1:$X256"
    }
    i=0
    until ended || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
    shot 5-sha256-server
    grep "^$X256 " "$W/access.log" | grep -q "status=200" && fail "5 SHA-256: a G card was accepted"
    [ "$(pins)" = "$n" ] || fail "5 SHA-256: a PIN dialog"
    what=$(grep "^$X256 " "$W/access.log" | tail -n 1)$(tail -n +$((e0 + 1)) "$W/error.log" | grep -m1 "127.0.0.1:$X256" | sed 's/.*\] [0-9#]*: //')
    if ended; then
        say "5 SHA-256-only server: C_Sign CKR_DATA_LEN_RANGE, no APDU; the handshake ended at once: $what"
    elif [ "$BROWSER" = chromium ]; then
        fail "5 SHA-256: Chromium's handshake had not ended 10 s after C_Sign failed"
    else
        say "5 SHA-256-only server: C_Sign CKR_DATA_LEN_RANGE, no APDU; Firefox still in the handshake 10 s later (nginx saw nothing; NSS drops the signing failure)"
    fi
fi
grep -q "reused=r" "$W/access.log" && fail "a handshake was resumed"
say "nginx log:"
cat "$W/access.log"
exit 0
