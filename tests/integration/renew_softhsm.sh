#!/bin/sh
# cardrenew renews a SoftHSM2 token through the test CA: the engine speaks
# only PKCS#11, so this is the proof that it works on any module.
# Checks: a renewal leaves exactly one credential whose certificate matches
# its key, the old key gone, ~2 years of validity; a wrong PIN (exit 3),
# a refusing CA (6) and a dead CA (6) change nothing; an expired
# certificate gives 5; a kill after each step resumes on the rerun.
set -u
BUILD=${BUILD:-build}
CLI=$PWD/$BUILD/cardrenew
CA=$PWD/$BUILD/cmp-test-ca
MOD=/usr/lib/softhsm/libsofthsm2.so
for t in "$CLI" "$CA"; do
    [ -x "$t" ] || { echo "skip: $t is not built"; exit 77; }
done
[ -f "$MOD" ] || { echo "skip: SoftHSM2 ($MOD) is not installed"; exit 77; }
command -v pkcs11-tool >/dev/null || { echo "skip: pkcs11-tool (opensc) missing"; exit 77; }

T=$(mktemp -d /tmp/renew-softhsm.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE
fail() { echo "FAIL: $*"; exit 1; }

export SOFTHSM2_CONF=$T/softhsm2.conf XDG_STATE_HOME=$T/state HOME=$T
unset CARDRENEW_MODULE CARDRENEW_CA_URL CARDRENEW_CA_CERT DBUS_SESSION_BUS_ADDRESS
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T" > "$SOFTHSM2_CONF"
PIN=2468
export PIN

p11() { pkcs11-tool --module "$MOD" --token-label "$LABEL" "$@" 2>/dev/null; }

# A token holding a key made on it and a certificate from the CA.
make_token() { # label, days to expiry[, key type]
    LABEL=$1
    softhsm2-util --init-token --free --label "$LABEL" --so-pin 87654321 --pin "$PIN" \
        >/dev/null || fail "softhsm2-util --init-token"
    p11 --login --pin "$PIN" --keypairgen --key-type "${3:-rsa:2048}" --id 01 --label "Jane Doe" \
        >/dev/null || fail "keypairgen"
    p11 --read-object --type pubkey --id 01 -o "$T/pub.der" >/dev/null || fail "read pubkey"
    openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$T/pub.pem" || fail "pub.pem"
    "$CA" issue --dir "$T/ca" --pubkey "$T/pub.pem" --subject "/CN=Jane Doe/O=NHS" \
        --expires-in "$2" --out "$T/cert.pem" >/dev/null 2>&1 || fail "cmp-test-ca issue"
    openssl x509 -in "$T/cert.pem" -outform DER -out "$T/cert.der" || fail "cert.der"
    p11 --login --pin "$PIN" --write-object "$T/cert.der" --type cert --id 01 \
        --label "Jane Doe" >/dev/null || fail "write cert"
}

objects() { p11 --login --pin "$PIN" --list-objects | grep -E '^(Certificate|Private Key|Public Key) Object|ID:' ; }
count() { objects | grep -c "^$1"; }

serve() { # name, extra args
    n=$1; shift
    rm -f "$T/$n.port"
    "$CA" serve --dir "$T/ca" --port 0 --port-file "$T/$n.port" "$@" >"$T/$n.log" 2>&1 &
    pids="$pids $!"
    i=0
    while [ ! -s "$T/$n.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$T/$n.port" ] || fail "the CA did not start: $(cat "$T/$n.log")"
}

renew() { # url, extra args
    url=$1; shift
    "$CLI" --module "$MOD" --token "pkcs11:token=$(echo "$LABEL" | sed 's/ /%20/g')" \
        --renew --yes --pin-source env:PIN --ca "$url" --ca-cert "$T/ca/ca.pem" "$@"
}

# One credential; its certificate matches its key; ~2 years left.
check_renewed() { # old id
    [ "$(count Certificate)" = 1 ] && [ "$(count 'Private Key')" = 1 ] &&
        [ "$(count 'Public Key')" = 1 ] || { objects; fail "not exactly one credential"; }
    objects | grep -q "ID: *$1\$" && fail "the old key (id $1) is still there"
    id=$(objects | sed -n 's/^ *ID: *//p' | sort -u)
    [ "$(echo "$id" | wc -l)" = 1 ] || fail "key and certificate ids differ: $id"
    p11 --read-object --type cert --id "$id" -o "$T/new.der" >/dev/null || fail "read new cert"
    p11 --read-object --type pubkey --id "$id" -o "$T/newpub.der" >/dev/null || fail "read new pub"
    a=$(openssl x509 -inform DER -in "$T/new.der" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)
    b=$(openssl pkey -pubin -inform DER -in "$T/newpub.der" -outform DER | sha256sum)
    [ "$a" = "$b" ] || fail "the new certificate does not match the new key"
    "$CLI" --module "$MOD" --token "pkcs11:token=$(echo "$LABEL" | sed 's/ /%20/g')" \
        --status --json > "$T/status.json" || fail "--status after renewal"
    days=$(sed -n 's/.*"days_left": \([0-9-]*\).*/\1/p' "$T/status.json")
    [ "$days" -ge 700 ] && [ "$days" -le 740 ] || fail "new expiry is $days days, not ~2 years"
    echo "$id"
}

"$CA" init --dir "$T/ca" >/dev/null 2>&1 || fail "cmp-test-ca init"
make_token "Renew One" 20
serve good
URL=http://127.0.0.1:$(cat "$T/good.port")/.well-known/cmp
before=$(objects)

# A wrong PIN: exit 3, nothing changed.
PIN=9999 "$CLI" --module "$MOD" --renew --yes --pin-source env:PIN --ca "$URL" \
    --ca-cert "$T/ca/ca.pem" 2>"$T/err"
rc=$?
[ $rc = 3 ] || fail "wrong PIN: exit $rc, want 3 ($(cat "$T/err"))"
[ "$(objects)" = "$before" ] || fail "wrong PIN changed the token"
echo "ok: wrong PIN -> 3: $(cat "$T/err")"

# A refusing CA: exit 6, nothing changed.
serve refuse --misbehave refuse
renew "http://127.0.0.1:$(cat "$T/refuse.port")/.well-known/cmp" 2>"$T/err" >/dev/null
rc=$?
[ $rc = 6 ] || fail "refusing CA: exit $rc, want 6 ($(cat "$T/err"))"
[ "$(objects)" = "$before" ] || { objects; fail "a refusing CA changed the token"; }
grep -q '"this CA is set to refuse every request"' "$T/err" || fail "the CA's own words are not shown: $(cat "$T/err")"
echo "ok: refusing CA -> 6: $(cat "$T/err")"

# A CA that drops the connection, answers garbage, certifies another key,
# or answers too late: exit 6, nothing changed.
for m in drop garbage wrongkey delay:4000; do
    serve "bad$m" --misbehave "$m"
    CARDRENEW_CA_TIMEOUT=2 renew "http://127.0.0.1:$(cat "$T/bad$m.port")/.well-known/cmp" \
        2>"$T/err" >/dev/null
    rc=$?
    [ $rc = 6 ] || fail "CA misbehaving ($m): exit $rc, want 6 ($(cat "$T/err"))"
    [ "$(objects)" = "$before" ] || { objects; fail "a CA misbehaving ($m) changed the token"; }
    # Plain words: OpenSSL's error strings only with --verbose.
    grep -q 'error:[0-9A-F]*:' "$T/err" && fail "OpenSSL's wording for $m: $(cat "$T/err")"
    case $m in delay:*) grep -q "did not answer in time" "$T/err" || fail "slow CA: $(cat "$T/err")" ;; esac
    echo "ok: CA $m -> 6: $(cat "$T/err")"
done

# A dead CA (nothing listens): exit 6, nothing changed.
renew "http://127.0.0.1:1/.well-known/cmp" 2>"$T/err" >/dev/null
rc=$?
[ $rc = 6 ] || fail "dead CA: exit $rc, want 6 ($(cat "$T/err"))"
[ "$(objects)" = "$before" ] || fail "a dead CA changed the token"
echo "ok: dead CA -> 6"

# The renewal.
renew "$URL" > "$T/out" 2>&1 || fail "renewal failed: $(cat "$T/out")"
grep -q "now renewed" "$T/out" || fail "no completion line: $(cat "$T/out")"
id=$(check_renewed 01) || fail "$id"
echo "ok: renewed, new id $id"

# Killed after each step, the rerun finishes the job.
for stepname in keygen-unsaved keygen cmp journal write verify retire; do
    CARDRENEW_TEST_KILL_AT=$stepname renew "$URL" --force >/dev/null 2>&1
    rc=$?
    [ $rc -ge 128 ] || fail "the kill hook at $stepname did not fire (exit $rc)"
    [ "$(count Certificate)" -ge 1 ] || fail "no certificate left after a kill at $stepname"
    renew "$URL" --force > "$T/out" 2>&1 || fail "rerun after a kill at $stepname: $(cat "$T/out")"
    old=$id
    id=$(check_renewed "$old") || fail "after a kill at $stepname: $id"
    echo "ok: killed after $stepname, the rerun finished"
done

# Killed after the write with the journal lost: the renewal's mark (the
# new certificate under the old label and subject, issued inside the old
# one's window) lets the rerun keep the newer and retire the older.
make_token "Renew Two" 20
CARDRENEW_TEST_KILL_AT=write renew "$URL" >/dev/null 2>&1
[ "$(count Certificate)" = 2 ] || fail "a kill after the write should leave two certificates"
rm -rf "$XDG_STATE_HOME/cardrenew"
renew "$URL" > "$T/out" 2>&1 || fail "rerun without a journal: $(cat "$T/out")"
id=$(check_renewed 01) || fail "without a journal: $id"
echo "ok: without a journal, the renewal's two credentials -> the older retired"

# An EC P-256 card key renews the same way (CKM_ECDSA through EC_KEY_METHOD).
make_token "Renew EC" 10 EC:prime256v1
renew "$URL" > "$T/out" 2>&1 || fail "EC renewal failed: $(cat "$T/out")"
id=$(check_renewed 01) || fail "EC: $id"
openssl x509 -inform DER -in "$T/new.der" -noout -text | grep -q "prime256v1" ||
    fail "the renewed EC certificate is not for a P-256 key"
echo "ok: EC P-256 renewed"

# An expired certificate cannot renew itself: exit 5.
make_token "Renew Expired" -1
renew "$URL" 2>"$T/err" >/dev/null
rc=$?
[ $rc = 5 ] || fail "expired certificate: exit $rc, want 5 ($(cat "$T/err"))"
grep -q "RA renewal" "$T/err" || fail "expired: no RA renewal advice: $(cat "$T/err")"
"$CLI" --module "$MOD" --token "pkcs11:token=Renew%20Expired" --check >/dev/null
rc=$?
[ $rc = 11 ] || fail "--check on an expired certificate: exit $rc, want 11"
echo "ok: expired -> 5, --check -> 11"
echo "PASS"
