#!/bin/sh
# cardrenew --renew against OpenSSL's own CMP mock server
# (`openssl cmp -port N ... -rsp_cert FILE`), profiles O and G.
# The mock serves "/" only and always answers with -rsp_cert, so that
# certificate has to exist before the request, for the new key. cardrenew
# makes the new key itself; the honest way in is its own resume logic:
# a run killed right after key generation (CARDRENEW_TEST_KILL_AT=keygen)
# leaves the new key on the card and in the journal, the next run adopts
# it (journal state keygen: reuse-key) and sends the kur. In between, the
# new public key is read from the card and the response certificate made
# for it: the card's subject, issuer and serial of the old certificate
# (the mock checks oldCertID against them), signed by the sandbox CA,
# which also certifies the mock's signing key.
# Checked: the mock refuses a kur whose oldCertID does not match; cardrenew
# refuses a certificate for another key and keeps the old credential; with
# the right certificate the renewal completes and the card holds it.
# Run time: about 10 s.
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in openssl pkcs11-tool unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew cardrenew-pkcs11.so vcard cmp-test-ca; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    fails=0
    for P in O G; do
        if tests/sandbox --profile "$P" -- sh "$0" --inner "$P"; then
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
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
M=$BUILD/cardrenew-pkcs11.so
S=$CARDRENEW_SANDBOX
T=$S/mock
mkdir -p "$T"
export XDG_STATE_HOME="$T/state" XDG_CONFIG_HOME="$T/config" CARDRENEW_MODULE="$M"
mp=
stop_mock() { [ -n "$mp" ] && kill "$mp" 2>/dev/null && wait "$mp" 2>/dev/null; mp=; }
trap stop_mock EXIT
trap 'exit 1' INT TERM
fails=0
ok()  { echo "ok   $P: $*"; }
bad() { echo "FAIL $P: $*"; fails=$((fails + 1)); }
die() { echo "FAIL $P: $*"; exit 1; }
p11() { pkcs11-tool --module "$M" "$@" 2>>"$T/p11.log"; }
privids() { p11 --login --pin "$CARDRENEW_PIN" -O --type privkey | sed -n 's/^ *ID: *//p'; }
card_cert() { # -> $T/card.pem, the card's only certificate
    id=$(p11 -O --type cert | sed -n 's/^ *ID: *//p')
    [ "$(echo "$id" | wc -w)" -eq 1 ] || return 1
    p11 --read-object --type cert --id "$id" -o "$T/card.der" >/dev/null &&
        openssl x509 -inform DER -in "$T/card.der" -out "$T/card.pem"
}
renew() { # log, extra args...
    log=$1; shift
    timeout 120 "$BUILD/cardrenew" --renew --yes --verbose --pin-source env:CARDRENEW_PIN "$@" \
        >"$log" 2>&1
}

oldid=$(privids)
old_serial=$(openssl x509 -in "$S/cert.pem" -noout -serial | cut -d= -f2)
subject=$(openssl x509 -in "$S/cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')

# The mock's signing key, certified by the sandbox CA (which cardrenew trusts).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/srv.key" 2>/dev/null
openssl pkey -in "$T/srv.key" -pubout -out "$T/srv.pub"
"$BUILD/cmp-test-ca" issue --dir "$S/ca" --pubkey "$T/srv.pub" --subject "/CN=Mock CMP server" \
    --expires-in 2 --out "$T/srv.pem" 2>>"$T/p11.log" || die "cannot certify the mock server"
cat >"$T/ext.cnf" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

pending() { # a run killed after key generation; -> $newid, $T/newpub.pem
    CARDRENEW_TEST_KILL_AT=keygen renew "$T/kill.log"
    rc=$?
    [ $rc -eq 137 ] || die "the run to be killed after keygen exited $rc: $(cat "$T/kill.log")"
    newid=$(privids | grep -v "^$oldid\$")
    [ "$(echo "$newid" | wc -w)" -eq 1 ] || die "no single pending key on the card: $newid"
    p11 --read-object --type pubkey --id "$newid" -o "$T/newpub.der" >/dev/null &&
        openssl pkey -pubin -inform DER -in "$T/newpub.der" -out "$T/newpub.pem" ||
        die "cannot read the pending key"
}
issue() { # public key PEM, serial (hex), out: signed by the sandbox CA
    openssl req -new -key "$T/srv.key" -subj "$subject" -out "$T/req.csr" 2>/dev/null &&
        openssl x509 -req -in "$T/req.csr" -force_pubkey "$1" -CA "$CARDRENEW_CA_CERT" \
            -CAkey "$S/ca/ca.key" -set_serial "0x$2" -days 730 -extfile "$T/ext.cnf" \
            -out "$3" 2>/dev/null || die "cannot make the response certificate"
}
start_mock() { # response certificate; -> $mp, $url
    for i in 1 2 3 4 5; do
        port=$((20000 + ($$ * 7 + i * 7919) % 40000))
        rm -f "$T/mock.log"     # an earlier server's ACCEPT must not count
        openssl cmp -port "$port" -srv_cert "$T/srv.pem" -srv_key "$T/srv.key" \
            -srv_trusted "$CARDRENEW_CA_CERT" -rsp_cert "$1" >"$T/mock.log" 2>&1 &
        mp=$!
        n=0
        while kill -0 "$mp" 2>/dev/null && ! grep -q "^ACCEPT" "$T/mock.log" 2>/dev/null; do
            n=$((n + 1)); [ $n -lt 100 ] || die "the mock server did not start"; sleep 0.05
        done
        if grep -q "^ACCEPT" "$T/mock.log"; then
            url=http://127.0.0.1:$port/
            return 0
        fi
        kill "$mp" 2>/dev/null; wait "$mp" 2>/dev/null; mp=
    done
    die "the mock server did not start: $(cat "$T/mock.log")"
}
old_intact() { # what: the old credential is still the card's only one
    if card_cert && cmp -s "$T/card.pem" "$S/cert.pem" && [ "$(privids)" = "$oldid" ]; then
        ok "$1: the card keeps its old key and certificate only"
    else
        bad "$1: the card changed: keys $(privids | tr '\n' ' ')"
    fi
}

# 1. A response certificate with another serial: the mock refuses the kur.
pending
other=$(printf '%s' "$old_serial" | sed 's/^./F/')
[ "$other" != "$old_serial" ] || other=1$old_serial
issue "$T/newpub.pem" "$other" "$T/wrong-serial.pem"
start_mock "$T/wrong-serial.pem"
renew "$T/r1.log" --ca "$url"
rc=$?
stop_mock
if [ $rc -eq 6 ] && grep -q 'StatusString: "wrong certid"' "$T/r1.log"; then
    ok "oldCertID not the response's: the mock refuses (\"wrong certid\"), exit 6"
else
    bad "wrong oldCertID: exit $rc:"; sed 's/^/     /' "$T/r1.log"
fi
old_intact "after the refusal"

# 2. A response certificate for a key not on the card: cardrenew refuses it.
pending
issue "$T/srv.pub" "$old_serial" "$T/wrong-key.pem"
start_mock "$T/wrong-key.pem"
renew "$T/r2.log" --ca "$url"
rc=$?
stop_mock
if [ $rc -eq 6 ] && grep -q "certifies another key" "$T/r2.log"; then
    ok "certificate for another key: refused by cardrenew, exit 6"
else
    bad "certificate for another key: exit $rc:"; sed 's/^/     /' "$T/r2.log"
fi
old_intact "after the wrong key"

# 3. The right certificate: the pending key is adopted and the renewal done.
pending
issue "$T/newpub.pem" "$old_serial" "$T/issued.pem"
start_mock "$T/issued.pem"
renew "$T/r3.log" --ca "$url"
rc=$?
stop_mock
[ $rc -eq 0 ] && ok "cardrenew --renew against the mock server: exit 0" ||
    { bad "renewal against the mock: exit $rc:"; sed 's/^/     /' "$T/r3.log"; }
grep -q "journal state keygen: reuse-key" "$T/r3.log" && ok "the pending key was adopted (journal state keygen: reuse-key)" ||
    bad "the pending key was not adopted"
[ "$(grep -c '^cmp: Received request, 1st line: POST / ' "$T/mock.log")" -ge 1 ] &&
    ok "the mock served the kur on /" || bad "the mock log shows no request"
if card_cert && cmp -s "$T/card.pem" "$T/issued.pem"; then
    ok "the card holds the mock's certificate (serial $old_serial, new key)"
else
    bad "the card does not hold the mock's certificate"
fi
[ "$(privids)" = "$newid" ] && ok "only the new key is left on the card" ||
    bad "keys on the card: $(privids | tr '\n' ' ')"
[ "$(openssl x509 -in "$T/card.pem" -noout -pubkey)" = "$(cat "$T/newpub.pem")" ] &&
    ok "the card's certificate carries the new key" || bad "the card's certificate key"
[ $fails -eq 0 ]
