#!/bin/sh
# The cardrenew CLI on SoftHSM2 tokens: usage errors, exit codes, the
# status table and JSON, --check windows and configuration precedence,
# --diagnose on an orphan key and an empty token, PIN sources, and a
# renewal that is not confirmed changes nothing.
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
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }

T=$(mktemp -d /tmp/cli-softhsm.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
fail() { echo "FAIL: $*"; exit 1; }
export SOFTHSM2_CONF=$T/softhsm2.conf XDG_STATE_HOME=$T/state HOME=$T XDG_CONFIG_HOME=$T/config
unset CARDRENEW_MODULE CARDRENEW_CA_URL CARDRENEW_CA_CERT DBUS_SESSION_BUS_ADDRESS
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T" > "$SOFTHSM2_CONF"
PIN=2468
export PIN

expect() { # code, description, command...
    want=$1; what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want; stderr: $(cat "$T/err")"
    if [ "$want" != 0 ] && [ "$want" != 10 ] && [ "$want" != 11 ]; then
        # One line for an error; none when the answer is a report (--diagnose).
        [ "$(wc -l < "$T/err")" -le 1 ] || fail "$what: more than one line on stderr: $(cat "$T/err")"
    fi
    echo "ok: $what -> $rc"
}

# Usage.
expect 0 "--help" "$CLI" --help
grep -q -- "--pin-source" "$T/out" || fail "--help does not list --pin-source"
expect 0 "--version" "$CLI" --version
grep -q "^cardrenew [0-9]" "$T/out" || fail "--version: $(cat "$T/out")"
expect 1 "no command" "$CLI"
expect 1 "unknown option" "$CLI" --status --bogus
expect 1 "two commands" "$CLI" --status --renew
expect 1 "a bare PIN as --pin-source" "$CLI" --renew --pin-source 1234
expect 1 "missing --config file" "$CLI" --status --config "$T/none.conf"
expect 2 "module that does not exist" "$CLI" --status --module "$T/nope.so"
expect 2 "no initialised token" "$CLI" --status --module "$MOD"
expect 1 "a bad --token URI" "$CLI" --status --module "$MOD" --token "token=x"

p11() { pkcs11-tool --module "$MOD" --token-label "$LABEL" "$@" 2>/dev/null; }
LABEL="Cli Card"
softhsm2-util --init-token --free --label "$LABEL" --so-pin 87654321 --pin "$PIN" >/dev/null ||
    fail "init token"
# An empty token.
expect 7 "--diagnose on an empty token" "$CLI" --diagnose --module "$MOD" --pin-source env:PIN
grep -q "Your smartcard is empty" "$T/out" || fail "empty: $(cat "$T/out")"
export PIN
expect 7 "--check on an empty token" "$CLI" --check --module "$MOD"

# A key made on the token and a certificate from the CA, 20 days left.
"$CA" init --dir "$T/ca" >/dev/null 2>&1 || fail "cmp-test-ca init"
p11 --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id 01 --label "Jane Doe" >/dev/null ||
    fail keypairgen
p11 --read-object --type pubkey --id 01 -o "$T/pub.der" >/dev/null || fail "read pubkey"
openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$T/pub.pem" || fail pub.pem
"$CA" issue --dir "$T/ca" --pubkey "$T/pub.pem" --subject "/CN=Jane Doe/O=NHS" \
    --expires-in 20 --out "$T/cert.pem" >/dev/null 2>&1 || fail "issue"
openssl x509 -in "$T/cert.pem" -outform DER -out "$T/cert.der" || fail cert.der
p11 --login --pin "$PIN" --write-object "$T/cert.der" --type cert --id 01 --label "Jane Doe" \
    >/dev/null || fail "write cert"

expect 0 "--status" "$CLI" --status --module "$MOD"
grep -q "Serial Number.*Type.*Issued on.*Certs expire.*Days left.*State" "$T/out" ||
    fail "status header: $(cat "$T/out")"
grep -q "Expiring.*Jane Doe" "$T/out" || fail "status row: $(cat "$T/out")"
grep -Eq "[0-9]{2}-[A-Z][a-z]{2}-[0-9]{4}" "$T/out" || fail "dates not like 21-Nov-2019"
expect 0 "--status --json" "$CLI" --status --json --module "$MOD" --token "pkcs11:token=Cli%20Card"
python3 - "$T/out" <<'EOF' || fail "--json: $(cat "$T/out")"
import json, sys
v = json.load(open(sys.argv[1]))
assert len(v) == 1, v
c = v[0]
for k in ("serial", "family", "label", "not_before", "not_after", "days_left", "state"):
    assert k in c, k
assert c["state"] == "Expiring" and 18 <= c["days_left"] <= 20 and c["label"] == "Jane Doe", c
assert c["version"] == 1 and list(c)[0] == "version", c
EOF
expect 2 "--token that matches nothing" "$CLI" --status --module "$MOD" --token "pkcs11:token=Other"

expect 10 "--check, 20 days left" "$CLI" --check --module "$MOD"
[ "$(wc -l < "$T/out")" = 1 ] || fail "--check is not one line"
grep -q "cardrenew --renew" "$T/out" || fail "--check line: $(cat "$T/out")"
expect 0 "--check --days 5" "$CLI" --check --days 5 --module "$MOD"
expect 10 "--check --notify without a session bus" "$CLI" --check --notify --module "$MOD"
[ "$(wc -l < "$T/out")" = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] &&
    grep -q "no desktop session bus" "$T/err" || fail "--notify without a bus: not one line saying why"
expect 10 "--check --quiet" "$CLI" --check --quiet --module "$MOD"
[ ! -s "$T/out" ] || fail "--quiet printed: $(cat "$T/out")"
printf 'renew_days = 5\nmodule = %s\n' "$MOD" > "$T/c.conf"
expect 0 "config renew_days=5" "$CLI" --check --config "$T/c.conf"
expect 10 "--days beats the config" "$CLI" --check --config "$T/c.conf" --days 30
mkdir -p "$T/config/cardrenew" && cp "$T/c.conf" "$T/config/cardrenew/cardrenew.conf"
expect 0 "config from XDG_CONFIG_HOME" "$CLI" --check
rm -rf "$T/config/cardrenew"

# PIN sources, through --diagnose (it logs in only when given one).
printf '%s\n' "$PIN" > "$T/pin"
expect 10 "--diagnose with file: PIN" "$CLI" --diagnose --module "$MOD" --pin-source "file:$T/pin"
grep -q "expires in" "$T/out" || fail "diagnose: $(cat "$T/out")"
expect 10 "--diagnose with fd: PIN" sh -c "exec 3<'$T/pin'; '$CLI' --diagnose --module '$MOD' --pin-source fd:3"
expect 3 "--diagnose with a wrong PIN" env PIN=1111 "$CLI" --diagnose --module "$MOD" --pin-source env:PIN
grep -q "wrong PIN" "$T/out" || fail "wrong PIN finding: $(cat "$T/out")"
expect 1 "--pin-source file that is missing" "$CLI" --diagnose --module "$MOD" --pin-source "file:$T/none"

# An orphan key (a key with no certificate).
p11 --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id 02 --label orphan >/dev/null ||
    fail "orphan keypairgen"
expect 7 "--diagnose sees an orphan key" "$CLI" --diagnose --module "$MOD" --pin-source env:PIN
grep -q "key with no certificate" "$T/out" || fail "orphan: $(cat "$T/out")"

# A renewal that is not confirmed (no terminal, no --yes) changes nothing.
before=$(p11 --login --pin "$PIN" --list-objects | grep -c Object)
"$CA" serve --dir "$T/ca" --port 0 --port-file "$T/port" >"$T/ca.log" 2>&1 &
ca_pid=$!
trap 'kill -TERM $ca_pid 2>/dev/null; wait $ca_pid 2>/dev/null; rm -rf "$T"' EXIT
i=0; while [ ! -s "$T/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/port" ] || fail "the CA did not start"
export CARDRENEW_CA_URL="http://127.0.0.1:$(cat "$T/port")/.well-known/cmp"
export CARDRENEW_CA_CERT="$T/ca/ca.pem"
expect 1 "--renew not confirmed" setsid "$CLI" --renew --module "$MOD" --pin-source env:PIN
grep -q -- "--yes" "$T/err" || fail "not confirmed: $(cat "$T/err")"
after=$(p11 --login --pin "$PIN" --list-objects | grep -c Object)
[ "$before" = "$after" ] || fail "an unconfirmed renewal changed the token"
# Settings that cannot work are refused before the PIN or the card: exit 1.
expect 1 "--ca not a URL" "$CLI" --renew --yes --module "$MOD" --pin-source env:PIN --ca 'not a url'
grep -q "not a valid http or https URL" "$T/err" || fail "--ca not a URL: $(cat "$T/err")"
expect 1 "--ca-cert missing" "$CLI" --renew --yes --module "$MOD" --pin-source env:PIN \
    --ca-cert "$T/no-such.pem"
grep -q "cannot read a CA certificate" "$T/err" || fail "--ca-cert missing: $(cat "$T/err")"
[ "$(p11 --login --pin "$PIN" --list-objects | grep -c Object)" = "$before" ] ||
    fail "bad CA settings changed the token"
expect 1 "--json with --renew" "$CLI" --renew --json --yes --module "$MOD" --pin-source env:PIN
expect 1 "--json with --check" "$CLI" --check --json --module "$MOD"
# A confirmation the holder declines: its own exit code, nothing changed.
if command -v script >/dev/null; then
    printf 'n\n' | script -qec "\"$CLI\" --renew --module \"$MOD\" --pin-source env:PIN" /dev/null \
        >"$T/out" 2>&1
    rc=$?
    [ $rc = 13 ] || fail "declined confirmation: exit $rc, want 13: $(cat "$T/out")"
    grep -q "not confirmed" "$T/out" || fail "declined: $(cat "$T/out")"
    [ "$(p11 --login --pin "$PIN" --list-objects | grep -c Object)" = "$before" ] ||
        fail "a declined renewal changed the token"
    echo "ok: declined at the prompt -> 13"
fi
# ... the CA from the environment, overridden by --ca.
expect 6 "--ca beats CARDRENEW_CA_URL" "$CLI" --renew --yes --module "$MOD" --pin-source env:PIN \
    --ca http://127.0.0.1:1/.well-known/cmp
# ... and confirmed, it renews and tidies the orphan key away.
expect 0 "--renew --yes" "$CLI" --renew --yes --module "$MOD" --pin-source env:PIN
grep -q "removing an unfinished key" "$T/out" || fail "orphan not removed: $(cat "$T/out")"
grep -q "now renewed.*expires on" "$T/out" || fail "no new expiry: $(cat "$T/out")"
[ "$(p11 --login --pin "$PIN" --list-objects | grep -c 'Private Key Object')" = 1 ] ||
    fail "more than one key left"
expect 0 "--check after renewal" "$CLI" --check --module "$MOD"
expect 0 "--diagnose after renewal" "$CLI" --diagnose --module "$MOD" --pin-source env:PIN
grep -q "No problems" "$T/out" || fail "diagnose after: $(cat "$T/out")"
# A certificate that belongs to another key.
LABEL="Mismatch"
softhsm2-util --init-token --free --label "$LABEL" --so-pin 87654321 --pin "$PIN" >/dev/null ||
    fail "init token"
p11 --login --pin "$PIN" --keypairgen --key-type rsa:2048 --id 01 --label "Jane Doe" >/dev/null ||
    fail keypairgen
p11 --login --pin "$PIN" --write-object "$T/cert.der" --type cert --id 01 --label "Jane Doe" \
    >/dev/null || fail "write cert"
expect 7 "--diagnose: key and certificate do not match" "$CLI" --diagnose --module "$MOD" \
    --token "pkcs11:token=Mismatch"
grep -q "do not match" "$T/out" || fail "mismatch: $(cat "$T/out")"
expect 7 "--renew refuses a mismatched credential" "$CLI" --renew --yes --module "$MOD" \
    --token "pkcs11:token=Mismatch" --pin-source env:PIN
grep -q "do not match" "$T/err" || fail "mismatch renew: $(cat "$T/err")"
echo PASS
