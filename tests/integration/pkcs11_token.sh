#!/bin/sh
# The module with a card in one long-lived process (test_pkcs11_token):
# login shared by sessions, PIN errors, attribute rules on real objects,
# an NHS identity agent's way to its login key and certificate,
# signature length rules, private-key operations refused without login,
# sensitive attributes, a renewal by cardrenew (when built) and a
# certificate written by another process seen at the next call without
# restart or log-out (sessions opened before it end at C_GetSessionInfo,
# by a change notice or the card's counter), polls that cost no APDU,
# the card pulled and put back mid-session (sessions closed, then a fresh
# login works), slot ids kept across C_Finalize/C_Initialize, threads,
# a forked child using the card beside its parent, and
# C_WaitForSlotEvent woken by C_Finalize, the PIN counter as token flags
# down to a blocked PIN; with both traces on, no PIN in either. Both
# profiles.
# It runs under valgrind when installed; PKCS11_TEST_WRAP names another
# wrapper (empty: none).
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in pkcs11-tool openssl unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew-pkcs11.so vcard cmp-test-ca tests/test_pkcs11_token; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    tested=0
    for P in G O; do
        out=$(mktemp /tmp/pkcs11-token-test.XXXXXX)
        tests/sandbox --profile "$P" -- sh "$0" --inner >"$out" 2>&1
        rc=$?
        cat "$out"
        if [ $rc -eq 2 ] && grep -q "is not in this build" "$out"; then
            echo "note: profile $P is not in vcard yet"
            rm -f "$out"
            continue
        fi
        rm -f "$out"
        [ $rc -eq 0 ] || { echo "FAIL: profile $P"; exit 1; }
        echo "ok   profile $P"
        tested=$((tested + 1))
    done
    [ $tested -gt 0 ] || { echo "skipped: vcard has no profile yet"; exit 77; }
    exit 0
fi

# ---- inside the sandbox ----
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
T=$CARDRENEW_SANDBOX/p11
mkdir -p "$T"
M=$BUILD/cardrenew-pkcs11.so
# The other process: a key made on the card and a certificate written
# for it, through pkcs11-tool (the PIN from the sandbox's environment).
cat >"$T/writer.sh" <<WRITER
set -e
pkcs11-tool --module "$M" --login --pin "\$CARDRENEW_PIN" --keypairgen --key-type rsa:2048 \
    --label other >"$T/kg" 2>&1
id=\$(sed -n 's/^ *ID: *//p' "$T/kg" | head -1)
pkcs11-tool --module "$M" --read-object --type pubkey --id "\$id" -o "$T/pub.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$T/pub.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj /CN=p11-test-CA -days 2 2>/dev/null
openssl req -new -key "$T/ca.key" -subj "/CN=Other Process" -out "$T/req.csr" 2>/dev/null
openssl x509 -req -in "$T/req.csr" -force_pubkey "$T/pub.pem" -CA "$T/ca.pem" \
    -CAkey "$T/ca.key" -CAcreateserial -days 2 -outform DER -out "$T/new.der" 2>/dev/null
pkcs11-tool --module "$M" --login --pin "\$CARDRENEW_PIN" --write-object "$T/new.der" \
    --type cert --id "\$id" >"$T/w" 2>&1
WRITER
# ... and the same key and certificate removed again.
cat >"$T/remover.sh" <<REMOVER
set -e
id=\$(sed -n 's/^ *ID: *//p' "$T/kg" | head -1)
pkcs11-tool --module "$M" --login --pin "\$CARDRENEW_PIN" --delete-object --type cert --id "\$id" >/dev/null 2>&1
pkcs11-tool --module "$M" --login --pin "\$CARDRENEW_PIN" --delete-object --type privkey --id "\$id" >/dev/null 2>&1
REMOVER
# The renewal: cardrenew in its own process, through this module.
if [ -x "$BUILD/cardrenew" ]; then
    CARDRENEW_TEST_RENEW="\"$BUILD/cardrenew\" --renew --yes --quiet --module \"$M\" --ca \"\$CARDRENEW_CA_URL\" --ca-cert \"\$CARDRENEW_CA_CERT\" --pin-source env:CARDRENEW_PIN"
    export CARDRENEW_TEST_RENEW
fi
# Under valgrind when it is there: the module's error paths leak nothing.
if [ -z "${PKCS11_TEST_WRAP+set}" ] && command -v valgrind >/dev/null; then
    PKCS11_TEST_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fi
# CARDRENEW_DEBUG reaches the processes the test starts too; the APDU
# trace is the test process's own.
CARDRENEW_TEST_TOKEN=1 CARDRENEW_MODULE=$M VCARD=$BUILD/vcard CARDRENEW_DEBUG=$T/debug \
    CARDRENEW_TEST_WRITER="sh $T/writer.sh" CARDRENEW_TEST_REMOVER="sh $T/remover.sh" \
    CARDRENEW_TEST_APDU_TRACE="$T/apdu.trace" ${PKCS11_TEST_WRAP:-} "$BUILD/tests/test_pkcs11_token" \
    >"$T/out" 2>&1
rc=$?
cat "$T/out"
[ $rc -eq 0 ] || { echo "FAIL: test_pkcs11_token exited $rc"; exit 1; }
grep -q "PASSED.*19 test" "$T/out" ||
    { [ -z "${CARDRENEW_TEST_RENEW:-}" ] && grep -q "PASSED.*18 test" "$T/out"; } ||
    { echo "FAIL: test_pkcs11_token"; exit 1; }

# The PINs (the card's and test_set_pin's new one) in neither trace: not
# as text in CARDRENEW_DEBUG, not as O's ASCII or G's BCD block in
# CARDRENEW_APDU_TRACE, where VERIFY and CHANGE REFERENCE DATA show masked.
fail() { echo "FAIL: $*"; exit 1; }
A=$T/apdu.trace
grep -q "C_Login(session [0-9]*) -> CKR_OK" "$T/debug" || fail "CARDRENEW_DEBUG: no C_Login"
grep -q "PIN length ${#CARDRENEW_PIN}" "$T/debug" || fail "CARDRENEW_DEBUG: no PIN length"
grep -q "^> 00 20 00 [08]1 \[[0-9]* bytes masked\]" "$A" ||
    fail "CARDRENEW_APDU_TRACE: no masked VERIFY"
grep -q "^> [01]0 24 00 [08]1 \[[0-9]* bytes masked\]" "$A" ||
    fail "CARDRENEW_APDU_TRACE: no masked CHANGE REFERENCE DATA"
for p in "$CARDRENEW_PIN" 24681357; do
    ascii=$(printf %s "$p" | od -An -tx1 | tr a-f A-F | xargs)
    bcd=$(printf '%sFFFFFFFFFFFFFFFF' "$p" | cut -c1-16 | sed 's/../& /g; s/ $//')
    grep -qF "$p" "$T/debug" && fail "CARDRENEW_DEBUG: a PIN in the trace"
    grep -qF "$ascii" "$A" && fail "CARDRENEW_APDU_TRACE: a PIN (ASCII) in the trace"
    grep -qF "$bcd" "$A" && fail "CARDRENEW_APDU_TRACE: a PIN (BCD) in the trace"
done
echo "ok   no PIN in CARDRENEW_DEBUG or CARDRENEW_APDU_TRACE"
