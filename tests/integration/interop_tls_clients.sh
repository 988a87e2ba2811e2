#!/bin/sh
# TLS client authentication with the card's key through the module, by
# the TLS stacks hosts use, against `openssl s_server -Verify 1
# -verify_return_error` trusting the sandbox CA; the server's -www page
# names the client certificate it verified, which must be the card's:
#   openssl s_client, TLS 1.2 and 1.3, libp11 engine (openssl.cnf)
#   curl (OpenSSL), certificate and key as pkcs11: URIs through the engine
#   NSS tstclnt, TLS 1.2 and 1.3, the module added with modutil
#   gnutls-cli through a long-lived `p11-kit server` (p11-kit-client.so)
# Then cardrenew --renew in the same sandbox, and every client again with
# the same settings (label URIs, NSS nickname): each presents the NEW
# certificate, with no restart of s_server, pcscd or the p11-kit server.
# Long-lived NSS processes (tstclnt -L 2: one connection before the
# renewal, one after): A reconnects right after the renewal; the new
# certificate passes; today NSS finds no client certificate there (KNOWN
# line); the old certificate or any other failure fails. B reconnects
# after the card was pulled and put back: it must present the new one.
# Profile G (SHA-1 only): every client is refused at the default security
# level; TLS 1.2 with SHA-1 signatures at level 0 shows the card works.
# Run time: about 6 s.
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in openssl pkcs11-tool curl tstclnt certutil modutil gnutls-cli p11-kit unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    eng=$(openssl version -e | sed 's/^[^"]*"//; s/"$//')/pkcs11.so
    [ -f "$eng" ] || { echo "skipped: no libp11 engine ($eng; libengine-pkcs11-openssl)"; exit 77; }
    client=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)/p11-kit-client.so
    [ -f "$client" ] || client=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
    [ -f "$client" ] || { echo "skipped: no p11-kit-client.so (p11-kit-modules)"; exit 77; }
    for p in cardrenew cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    fails=0
    for P in O G; do
        if tests/sandbox --profile "$P" -- sh "$0" --inner "$P" "$eng" "$client"; then
            echo "ok   profile $P"
        else
            echo "FAIL profile $P"; fails=$((fails + 1))
        fi
    done
    [ $fails -eq 0 ]
    exit
fi

# ---- inside the sandbox ----
P=$2
ENG=$3
CLIENT=$4
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
M=$BUILD/cardrenew-pkcs11.so
S=$CARDRENEW_SANDBOX
T=$S/tlsc
mkdir -p "$T"
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done' EXIT
trap 'exit 1' INT TERM
fails=0
ok()  { echo "ok   $P: $*"; }
bad() { echo "FAIL $P: $*"; fails=$((fails + 1)); }
die() { echo "FAIL $P: $*"; exit 1; }
p11() { pkcs11-tool --module "$M" "$@" 2>>"$T/p11.log"; }
pct() { printf '%s' "$1" | sed 's/%/%25/g; s/ /%20/g; s/;/%3B/g'; }
fpr() { openssl x509 -noout -fingerprint -sha256 "$@" 2>/dev/null; }

card_cert() { # -> $T/card.pem
    id=$(p11 -O --type cert | sed -n 's/^ *ID: *//p')
    [ "$(echo "$id" | wc -w)" -eq 1 ] || die "not one certificate on the card: $id"
    p11 --read-object --type cert --id "$id" -o "$T/card.der" >/dev/null &&
        openssl x509 -inform DER -in "$T/card.der" -out "$T/card.pem" || die "cannot read the card's certificate"
}
card_cert
label=$(p11 -T | sed -n 's/^ *token label *: //p')
obj=$(p11 -O --type cert | sed -n 's/^ *label: *//p' | head -1)
cn=$(openssl x509 -in "$T/card.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
[ -n "$label" ] && [ -n "$obj" ] && [ -n "$cn" ] || die "no token label, certificate label or CN"
# Names that survive a renewal: the token and object labels, the nickname.
uri="pkcs11:token=$(pct "$label");object=$(pct "$obj")"

# The server: any certificate; it verifies clients against the sandbox CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.pem" \
    -subj /CN=localhost -days 2 2>/dev/null || die "server certificate"
start_server() { # log, extra s_server args...; -> $port
    log=$1; shift
    for i in 1 2 3 4 5; do
        port=$((20000 + ($$ * 13 + i * 7919) % 40000))
        rm -f "$log"
        openssl s_server -accept "127.0.0.1:$port" -cert "$T/srv.pem" -key "$T/srv.key" \
            -Verify 1 -verify_return_error -CAfile "$CARDRENEW_CA_CERT" -www \
            -no_cache -no_ticket -num_tickets 0 "$@" >"$log" 2>&1 &
        sp=$!
        n=0
        while kill -0 "$sp" 2>/dev/null && ! grep -q ACCEPT "$log" 2>/dev/null; do
            n=$((n + 1)); [ $n -lt 100 ] || die "s_server did not start"; sleep 0.05
        done
        grep -q ACCEPT "$log" && { pids="$pids $sp"; return 0; }
        kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
    done
    die "s_server did not start: $(cat "$log")"
}

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
printf '%s\n' "$CARDRENEW_PIN" >"$T/pin"
printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req"
D=$T/nss
mkdir -p "$D"
certutil -N -d "sql:$D" --empty-password >/dev/null 2>&1 || die "certutil -N"
modutil -dbdir "sql:$D" -add cardrenew -libfile "$M" -force >"$T/modutil.log" 2>&1 ||
    die "modutil -add: $(cat "$T/modutil.log")"
certutil -L -h all -d "sql:$D" -f "$T/pin" >"$T/nsslist" 2>&1
grep -q "^$label:$cn " "$T/nsslist" && ok "NSS lists the card's certificate as \"$label:$cn\"" ||
    bad "certutil -L -h all: $(cat "$T/nsslist")"

# What the server verified, from its -www page: the client certificate.
seen() { # page [n] -> fingerprint of the n-th (1st) client certificate the server reports
    awk -v n="${2:-1}" '/^Client certificate/ { k++ } k == n && /-----BEGIN CERTIFICATE-----/ { on = 1 }
        on { print } on && /-----END CERTIFICATE-----/ { exit }' "$1" | fpr
}
# Each client: name, page file, command... (exit status and page kept)
s_client() { # TLS version flag
    OPENSSL_CONF=$T/ossl.cnf timeout 30 openssl s_client "$1" -connect "127.0.0.1:$port" \
        -engine pkcs11 -keyform ENGINE -key "$uri;type=private" -cert "$T/card.pem" -ign_eof \
        ${SIGALGS:+-sigalgs "$SIGALGS" -cipher DEFAULT:@SECLEVEL=0} <"$T/req" 2>&1
}
curl_() {
    OPENSSL_CONF=$T/ossl.cnf timeout 30 curl -sS -k --engine pkcs11 \
        --key-type ENG --key "$uri;type=private" --cert-type ENG --cert "$uri;type=cert" \
        "https://127.0.0.1:$port/" 2>&1
}
tstclnt_() { # min:max
    timeout 30 tstclnt -h 127.0.0.1 -p "$port" -d "sql:$D" -n "$label:$cn" -W "$T/pin" -o \
        -V "$1" -A "$T/req" 2>&1
}
gnutls_() { # through the p11-kit server
    GNUTLS_PIN=$CARDRENEW_PIN P11_KIT_SERVER_ADDRESS=$p11srv timeout 30 gnutls-cli \
        --provider "$CLIENT" --no-ca-verification -p "$port" 127.0.0.1 \
        --x509certfile "$uri;type=cert" --x509keyfile "$uri;type=private" <"$T/req" 2>&1
}
clients() { # what, client runner: run each client, page in $T/<name>.page
    for c in "s_client -tls1_2 TLSv1.2" "s_client -tls1_3 TLSv1.3" "curl_ - TLSv1.3" \
             "tstclnt_ tls1.2:tls1.2 TLSv1.2" "tstclnt_ tls1.3:tls1.3 TLSv1.3" "gnutls_ - TLSv1.3"; do
        # shellcheck disable=SC2086
        set -- $c
        page=$T/$(echo "$1$2" | tr -c 'a-z0-9\n' _).page
        $1 "$2" >"$page"
        echo "$? ${1%_} $2 $3 $page"
    done
}

# The long-lived module host: one p11-kit server process for both rounds.
p11-kit server -f -n "$T/p11kit.sock" --provider "$M" "pkcs11:token=$(pct "$label")" \
    >"$T/p11kit.log" 2>&1 &
pk=$!
pids="$pids $pk"
n=0
while [ ! -S "$T/p11kit.sock" ]; do
    kill -0 "$pk" 2>/dev/null || die "p11-kit server exited: $(cat "$T/p11kit.log")"
    n=$((n + 1)); [ $n -lt 100 ] || die "p11-kit server did not start"; sleep 0.05
done
p11srv=unix:path=$T/p11kit.sock

if [ "$P" = G ]; then
    start_server "$T/srv.log"
    clients >"$T/runs" 2>/dev/null
    while read -r rc tool arg ver page; do
        [ "$arg" = - ] && arg=
        why=$(grep -iE 'error|fail|alert' "$page" | grep -viE 'verif' | tail -1 | cut -c1-110)
        [ -n "$(seen "$page")" ] && bad "$tool${arg:+ $arg}: the SHA-1-only card authenticated at the default level" ||
            ok "$tool${arg:+ $arg}: refused (exit $rc): $why"
    done <"$T/runs"
    start_server "$T/srv0.log" -sigalgs RSA+SHA1 -cipher DEFAULT:@SECLEVEL=0
    SIGALGS=RSA+SHA1 s_client -tls1_2 >"$T/sha1.page"
    [ "$(seen "$T/sha1.page")" = "$(fpr -in "$T/card.pem")" ] &&
        ok "s_client -tls1_2 with SHA-1 signatures at security level 0: the card authenticates" ||
        bad "TLS 1.2 with SHA-1 at level 0 failed: $(grep -i error "$T/sha1.page" | head -3)"
    [ $fails -eq 0 ]
    exit
fi

start_server "$T/srv.log"

round() { # tag: every client must present the card's current certificate
    card_cert
    want=$(fpr -in "$T/card.pem")
    clients >"$T/runs"
    while read -r rc tool arg ver page; do
        [ "$arg" = - ] && arg=
        if [ "$(seen "$page")" != "$want" ]; then
            bad "$1: $tool${arg:+ $arg} (exit $rc): the server did not report the card's certificate:"
            grep -iE 'error|fail|alert' "$page" | head -5 | sed 's/^/     /'
        elif ! grep -q "Protocol  : $ver" "$page"; then
            bad "$1: $tool${arg:+ $arg}: not $ver: $(grep 'Protocol  :' "$page")"
        else
            ok "$1: $tool${arg:+ $arg}: $ver, the server verified the card's certificate"
        fi
    done <"$T/runs"
}
# Long-lived NSS processes: tstclnt -L 2 makes two connections in one
# process, to an s_server in its interactive mode that ends a connection
# when told ("q" on its stdin): once before the renewal, once after.
# A connects again right after the renewal; B after the card has also
# been pulled and put back.
certs_seen() { grep -c '^Client certificate' "$T/$1-srv.log"; }
long_start() { # name, fd for the server's stdin; -> ${name}_pid
    mkfifo "$T/$1.in"
    for i in 1 2 3 4 5; do
        lport=$((20000 + ($$ * 17 + $2 * 101 + i * 6271) % 40000))
        rm -f "$T/$1-srv.log"
        openssl s_server -accept "127.0.0.1:$lport" -cert "$T/srv.pem" -key "$T/srv.key" \
            -Verify 1 -verify_return_error -CAfile "$CARDRENEW_CA_CERT" \
            -no_cache -no_ticket -num_tickets 0 <"$T/$1.in" >"$T/$1-srv.log" 2>&1 &
        lsp=$!
        eval "exec $2>\"\$T/$1.in\""
        n=0
        while kill -0 "$lsp" 2>/dev/null && ! grep -q ACCEPT "$T/$1-srv.log" 2>/dev/null; do
            n=$((n + 1)); [ $n -lt 100 ] || die "s_server did not start"; sleep 0.05
        done
        grep -q ACCEPT "$T/$1-srv.log" && break
        eval "exec $2>&-"
        kill "$lsp" 2>/dev/null; wait "$lsp" 2>/dev/null
        lsp=
    done
    [ -n "$lsp" ] || die "s_server did not start: $(cat "$T/$1-srv.log")"
    pids="$pids $lsp"
    timeout 120 tstclnt -h 127.0.0.1 -p "$lport" -d "sql:$D" -n "$label:$cn" -W "$T/pin" -o \
        -V tls1.3:tls1.3 -A "$T/hello" -L 2 >"$T/$1.out" 2>&1 &
    eval "$1_pid=$!"
    pids="$pids $!"
    n=0
    while [ "$(certs_seen "$1")" -lt 1 ]; do
        kill -0 "$(eval echo "\$$1_pid")" 2>/dev/null || die "tstclnt $1 ended: $(cat "$T/$1.out")"
        n=$((n + 1)); [ $n -lt 400 ] || die "the long-lived tstclnt $1 did not connect"; sleep 0.05
    done
}
long_second() { # name, fd: ends the first connection; -> $rc, $second
    tp=$(eval echo "\$$1_pid")
    (eval "echo q >&$2") 2>/dev/null
    n=0
    while [ "$(certs_seen "$1")" -lt 2 ] && kill -0 "$tp" 2>/dev/null; do
        n=$((n + 1)); [ $n -lt 400 ] || break; sleep 0.05
    done
    (eval "echo q >&$2") 2>/dev/null
    wait "$tp"
    rc=$?
    pids=$(echo "$pids" | sed "s/ $tp / /; s/ $tp\$//")   # reaped: not ours any more
    eval "exec $2>&-"
    second=$(seen "$T/$1-srv.log" 2)
}
echo hello >"$T/hello"
long_start A 8
long_start B 9

round before
serial_before=$(openssl x509 -in "$T/card.pem" -noout -serial)
fpr_before=$(fpr -in "$T/card.pem")
for x in A B; do
    [ "$(seen "$T/$x-srv.log" 1)" = "$fpr_before" ] &&
        ok "long-lived tstclnt $x, 1st connection: the card's certificate" ||
        bad "long-lived tstclnt $x, 1st connection"
done

XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config CARDRENEW_MODULE=$M timeout 120 \
    "$BUILD/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN >"$T/renew.log" 2>&1 ||
    die "cardrenew --renew: $(cat "$T/renew.log")"
card_cert
[ "$(openssl x509 -in "$T/card.pem" -noout -serial)" != "$serial_before" ] &&
    ok "renewed: the card holds a new certificate ($(openssl x509 -in "$T/card.pem" -noout -serial))" ||
    die "the renewal left the certificate unchanged"
kill -0 "$pk" 2>/dev/null && ok "the p11-kit server process lived through the renewal" ||
    bad "the p11-kit server died"
round after
# A's second handshake, after the renewal.
long_second A 8
fpr_new=$(fpr -in "$T/card.pem")
if [ "$second" = "$fpr_new" ]; then
    ok "long-lived tstclnt A, 2nd connection in the same process: the NEW certificate"
elif [ -z "$second" ] && grep -q "Failed to load a suitable client certificate" "$T/A.out"; then
    # NSS keeps the token's object handles from before the renewal (they
    # answer CKR_OBJECT_HANDLE_INVALID); it reads the token again only
    # after it saw the token go (B below). A new NSS process is fine (above).
    echo "KNOWN $P: long-lived tstclnt A, 2nd connection after the renewal: no client certificate" \
        "(\"Failed to load a suitable client certificate\", exit $rc): NSS holds the old object handles"
elif [ "$second" = "$fpr_before" ]; then
    bad "long-lived tstclnt A presented the OLD certificate after the renewal"
else
    bad "long-lived tstclnt A, 2nd connection (exit $rc):"; grep -iE 'error|fail' "$T/A.out" | sed 's/^/     /'
fi
# B: the card pulled and put back first, as a user would.
"$BUILD/vcard" ctl --control "$VCARD_CONTROL" vanish now >/dev/null || die "vcard ctl vanish"
sleep 1
"$BUILD/vcard" ctl --control "$VCARD_CONTROL" back >/dev/null || die "vcard ctl back"
n=0
until p11 -T | grep -q "token label"; do
    n=$((n + 1)); [ $n -lt 50 ] || die "the card did not come back"; sleep 0.1
done
long_second B 9
[ "$second" = "$fpr_new" ] &&
    ok "long-lived tstclnt B, 2nd connection after the card was pulled and put back: the NEW certificate" ||
    { bad "long-lived tstclnt B after re-insertion (exit $rc):"; grep -iE 'error|fail' "$T/B.out" | sed 's/^/     /'; }
[ $fails -eq 0 ]
