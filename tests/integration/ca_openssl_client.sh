#!/bin/sh
# The independent `openssl cmp` client against a served cmp-test-ca:
# ir (one-time secret), cr, kur, rr succeed; kur signed by a stranger, by a
# revoked or an expired certificate, or naming another certificate in
# oldCertID is refused with a CMP error; every misbehaviour mode makes the
# client fail with the matching error; bad HTTP gets an HTTP error.
set -u
BUILD=${BUILD:-build}
CA=$BUILD/cmp-test-ca
if [ ! -x "$CA" ]; then
    echo "skipped: $CA is not built"
    exit 77
fi
command -v openssl >/dev/null || { echo "skipped: no openssl"; exit 77; }

T=$(mktemp -d)
SP=""
cleanup() {
    [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fails=$((fails + 1)); }

start() { # extra serve flags...
    rm -f "$T/port"
    "$CA" serve --dir "$T/ca" --port 0 --port-file "$T/port" "$@" 2>>"$T/server.log" &
    SP=$!
    i=0
    while [ ! -s "$T/port" ]; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "server did not start"; cat "$T/server.log"; exit 1; }
        sleep 0.05
    done
    PORT=$(cat "$T/port")
    URL=http://127.0.0.1:$PORT/.well-known/cmp
}
stop() { kill "$SP"; wait "$SP"; rc=$?; SP=""; return $rc; }

cmp() { # cmd, args... : runs the client, output in $T/out, returns its status
    c=$1; shift
    openssl cmp -cmd "$c" -server "127.0.0.1:$PORT" -path /.well-known/cmp \
        -trusted "$T/ca/ca.pem" -msg_timeout 5 "$@" >"$T/out" 2>&1
}
expect_fail() { # name, pattern, cmp args...
    n=$1; p=$2; shift 2
    if cmp "$@"; then bad "$n: client succeeded"; return; fi
    if grep -q -- "$p" "$T/out"; then ok "$n: refused ($p)"
    else bad "$n: no '$p' in:"; sed 's/^/     /' "$T/out"; fi
}
secret() { set -- $("$CA" secret --dir "$T/ca"); REF=$1; SEC=$2; }
pub_of_key()  { openssl pkey -in "$1" -pubout; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
serial_of()   { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
days_of() { # certificate -> its validity in whole days
    nb=$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)
    na=$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)
    echo $(( (na - nb) / 86400 ))
}
genrsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
genec()  { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

"$CA" init --dir "$T/ca" || { echo "init failed"; exit 1; }
genrsa "$T/k1.pem"; genec "$T/k2.pem"; genrsa "$T/k3.pem"; genec "$T/k4.pem"
start

# ir with a one-time secret
secret
if cmp ir -ref "$REF" -secret "pass:$SEC" -newkey "$T/k1.pem" \
       -subject "/C=GB/O=NHS/OU=Test/CN=Alice 100000000001" -certout "$T/c1.pem"; then
    ok "ir with a secret"
else
    bad "ir"; cat "$T/out"
fi
x=$(openssl x509 -in "$T/c1.pem" -noout -subject -nameopt compat 2>/dev/null)
[ "$x" = "subject=/C=GB/O=NHS/OU=Test/CN=Alice 100000000001" ] && ok "ir subject" || bad "ir subject: $x"
[ "$(pub_of_key "$T/k1.pem")" = "$(pub_of_cert "$T/c1.pem")" ] && ok "ir public key" || bad "ir public key"
ext=$(openssl x509 -in "$T/c1.pem" -noout -ext basicConstraints,keyUsage,extendedKeyUsage,subjectKeyIdentifier,authorityKeyIdentifier 2>&1)
for want in "CA:FALSE" "Key Usage: critical" "Digital Signature, Key Encipherment" \
            "TLS Web Client Authentication" "Subject Key Identifier" "Authority Key Identifier"; do
    echo "$ext" | grep -q "$want" && ok "ir cert has $want" || bad "ir cert lacks $want"
done
openssl verify -CAfile "$T/ca/ca.pem" "$T/c1.pem" >/dev/null 2>&1 && ok "ir cert chains to the root" || bad "ir cert does not verify"
openssl x509 -in "$T/c1.pem" -noout -text | grep -q "sha256WithRSAEncryption\|ecdsa-with-SHA256" \
    && ok "signed with SHA-256" || bad "not SHA-256"

# the same secret twice: refused
expect_fail "ir with a used secret" "already used" ir -ref "$REF" -secret "pass:$SEC" \
    -newkey "$T/k1.pem" -subject "/CN=again" -certout "$T/x.pem"
secret
expect_fail "ir with a wrong secret" "wrong pbm value" ir -ref "$REF" -secret "pass:0000" \
    -newkey "$T/k1.pem" -subject "/CN=again" -certout "$T/x.pem"

# cr (EC key), implicit confirmation asked for and granted
secret
if cmp cr -ref "$REF" -secret "pass:$SEC" -newkey "$T/k2.pem" -implicit_confirm \
       -subject "/C=GB/O=NHS/CN=Bob 100000000002" -certout "$T/c2.pem"; then
    ok "cr with a secret"
    grep -q CERTCONF "$T/out" && bad "certConf sent although implicitConfirm was asked" \
        || ok "implicitConfirm granted"
else
    bad "cr"; cat "$T/out"
fi
openssl x509 -in "$T/c2.pem" -noout -ext keyUsage 2>/dev/null | grep -q "Key Encipherment" \
    && bad "EC cert has keyEncipherment" || ok "EC cert: digitalSignature only"

# kur: protected by c1 and its key, new key k3; subject unchanged
if cmp kur -cert "$T/c1.pem" -key "$T/k1.pem" -newkey "$T/k3.pem" -certout "$T/c3.pem"; then
    ok "kur"
else
    bad "kur"; cat "$T/out"
fi
[ "$(pub_of_key "$T/k3.pem")" = "$(pub_of_cert "$T/c3.pem")" ] && ok "kur public key is the new key" || bad "kur public key"
[ "$(openssl x509 -in "$T/c3.pem" -noout -subject)" = "$(openssl x509 -in "$T/c1.pem" -noout -subject)" ] \
    && ok "kur subject unchanged" || bad "kur subject changed"
[ "$(serial_of "$T/c3.pem")" != "$(serial_of "$T/c1.pem")" ] && ok "kur new serial" || bad "kur serial reused"
d=$(days_of "$T/c3.pem"); [ "$d" -eq 730 ] && ok "kur certificate valid 730 days" || bad "kur validity $d days"
openssl x509 -in "$T/c3.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Client Authentication" \
    && ok "kur cert EKU clientAuth" || bad "kur cert EKU"

# kur must bring a new key
expect_fail "kur with the old key as the new one" "carries the old key" \
    kur -cert "$T/c1.pem" -key "$T/k1.pem" -newkey "$T/k1.pem" -certout "$T/x.pem"

# kur protected with SHA-1, as a SHA-1-only card (profile G) must do it
if cmp kur -cert "$T/c1.pem" -key "$T/k1.pem" -newkey "$T/k2.pem" -digest sha1 \
       -certout "$T/c1b.pem"; then
    ok "kur with SHA-1 protection and proof of possession"
else
    bad "kur with SHA-1"; cat "$T/out"
fi

# kur signed by a certificate this CA never issued
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ks.pem" -out "$T/cs.pem" \
    -subj "/C=GB/O=NHS/CN=Alice 100000000001" -days 30 2>/dev/null
expect_fail "kur signed by an unrelated certificate" "no suitable sender cert" kur \
    -cert "$T/cs.pem" -key "$T/ks.pem" -newkey "$T/k4.pem" -certout "$T/x.pem"

# kur protected by c3 but naming c2 in oldCertID
expect_fail "kur naming another certificate in oldCertID" "oldCertID names a different certificate" \
    kur -cert "$T/c3.pem" -key "$T/k3.pem" -oldcert "$T/c2.pem" -newkey "$T/k4.pem" -certout "$T/x.pem"

# kur with a revoked certificate
"$CA" revoke --dir "$T/ca" --serial "$(serial_of "$T/c3.pem")" >/dev/null || bad "revoke c3"
"$CA" list --dir "$T/ca" | grep -q "^$(serial_of "$T/c3.pem") revoked" && ok "list shows revoked" || bad "list"
expect_fail "kur signed by a revoked certificate" "has been revoked" \
    kur -cert "$T/c3.pem" -key "$T/k3.pem" -newkey "$T/k4.pem" -certout "$T/x.pem"

# kur with an expired certificate (issued offline, expired yesterday)
pub_of_key "$T/k4.pem" >"$T/p4.pem"
"$CA" issue --dir "$T/ca" --pubkey "$T/p4.pem" --subject "/C=GB/O=NHS/CN=Old 100000000003" \
    --expires-in -1 --out "$T/c4.pem" || bad "offline issue"
d=$(days_of "$T/c4.pem"); [ "$d" -eq 730 ] && ok "issue --expires-in -1: 730 days ending yesterday" || bad "offline validity $d days"
expect_fail "kur signed by an expired certificate" "no suitable sender cert" \
    kur -cert "$T/c4.pem" -key "$T/k4.pem" -newkey "$T/k1.pem" -certout "$T/x.pem"

# rr, protected by the certificate being revoked; then kur with it fails
if cmp rr -cert "$T/c2.pem" -key "$T/k2.pem" -oldcert "$T/c2.pem"; then ok "rr"; else bad "rr"; cat "$T/out"; fi
"$CA" list --dir "$T/ca" | grep -q "^$(serial_of "$T/c2.pem") revoked" && ok "rr recorded" || bad "rr not recorded"
"$CA" crl --dir "$T/ca" --out "$T/crl.pem" && openssl crl -in "$T/crl.pem" -noout -text \
    | grep -q "$(serial_of "$T/c2.pem")" && ok "CRL lists the revoked serial" || bad "CRL"

# HTTP-level garbage: HTTP errors, the server survives
h() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
if command -v curl >/dev/null; then
    [ "$(h -X POST -H 'Content-Type: application/pkixcmp' --data-binary junk "$URL")" = 400 ] && ok "garbage body: 400" || bad "garbage body"
    [ "$(h -X POST --data-binary junk "$URL")" = 415 ] && ok "wrong content type: 415" || bad "wrong content type"
    [ "$(h "$URL")" = 405 ] && ok "GET: 405" || bad "GET"
    [ "$(h -X POST -H 'Content-Type: application/pkixcmp' --data-binary junk "http://127.0.0.1:$PORT/other")" = 404 ] && ok "other path: 404" || bad "other path"
    head -c 70000 /dev/zero >"$T/big"
    [ "$(h -X POST -H 'Content-Type: application/pkixcmp' -H 'Expect:' --data-binary @"$T/big" "$URL")" = 413 ] && ok "huge body: 413" || bad "huge body"
fi
kill -0 "$SP" 2>/dev/null && ok "server alive after bad input" || bad "server died"

# Parallel clients: every one served, every certificate in the database once
before=$("$CA" list --dir "$T/ca" | wc -l)
pids=
for i in 1 2 3 4 5 6; do
    set -- $("$CA" secret --dir "$T/ca")
    openssl cmp -cmd ir -server "127.0.0.1:$PORT" -path /.well-known/cmp \
        -trusted "$T/ca/ca.pem" -ref "$1" -secret "pass:$2" -newkey "$T/k2.pem" \
        -subject "/CN=parallel $i" -certout "$T/par$i.pem" >"$T/par$i.out" 2>&1 &
    pids="$pids $!"
done
n=0
for p in $pids; do wait "$p" && n=$((n + 1)); done
[ $n -eq 6 ] && ok "6 parallel ir served" || bad "only $n of 6 parallel ir succeeded"
after=$("$CA" list --dir "$T/ca" | wc -l)
[ $((after - before)) -eq 6 ] && ok "database has all 6 new entries" || bad "database grew by $((after - before))"
[ "$("$CA" list --dir "$T/ca" | cut -d' ' -f1 | sort | uniq -d)" = "" ] && ok "serials unique" || bad "duplicate serials"
stop && ok "SIGTERM: clean exit" || bad "server exit status on SIGTERM"

# Misbehaviour, switched per request through the control file
start --control "$T/ctl"
mis() { # mode, pattern [client timeout]
    echo "$1" >"$T/ctl"
    secret
    expect_fail "misbehave $1" "$2" ir -ref "$REF" -secret "pass:$SEC" -newkey "$T/k2.pem" \
        -subject "/CN=mis" -certout "$T/x.pem" -msg_timeout "${3:-5}"
}
mis refuse "refuse every request"
mis delay:4000 "timeout" 1
mis drop "error receiving"
mis wrongkey "public key in new certificate does not match"
mis garbage "error receiving"
echo none >"$T/ctl"
secret
cmp ir -ref "$REF" -secret "pass:$SEC" -newkey "$T/k1.pem" -subject "/CN=normal again" \
    -certout "$T/x.pem" && ok "control back to normal" || bad "normal after misbehaviour"
stop || bad "server exit status after misbehaviour"

# The validity knob: serve --days N
start --days 30
if cmp kur -cert "$T/c1.pem" -key "$T/k1.pem" -newkey "$T/k4.pem" -certout "$T/c30.pem"; then
    d=$(days_of "$T/c30.pem")
    [ "$d" -eq 30 ] && ok "serve --days 30: 30-day certificate" || bad "serve --days 30 gave $d days"
else
    bad "kur with --days"; cat "$T/out"
fi
stop || bad "server exit status with --days"

# ... and from the start flag
start --misbehave refuse
secret
expect_fail "--misbehave refuse" "refuse every request" ir -ref "$REF" -secret "pass:$SEC" \
    -newkey "$T/k1.pem" -subject "/CN=mis" -certout "$T/x.pem"
stop || bad "server exit status with --misbehave"

if [ $fails -ne 0 ]; then
    echo "server log:"; sed 's/^/     /' "$T/server.log"
    echo "$fails check(s) failed"
    exit 1
fi
echo "all CA checks passed"
