#!/bin/sh
# cardrenew.exe under Wine renews the virtual card of each profile
# (tests/sandbox --profile G and O; WIN_PROFILES=G runs one) through
# cardrenew-pkcs11.dll beside it and the test CA, which runs on Linux on
# loopback: the exe reaches it through Winsock, the card through the
# test-only winscard.dll (tests/win/wine.inc). Per profile:
#  - --check says due (exit 10); --status shows the card's serial;
#  - a renewal killed after each step (CARDRENEW_TEST_KILL_AT, as in the
#    Linux fault matrix: the process ends at once, exit 137) leaves the
#    journal under %LOCALAPPDATA%\cardrenew in the state that step implies
#    and the card with a working credential; the rerun finishes it, with
#    the certificate the journal held when there was one;
#  - after each rerun the card, read on Linux through pcscd by
#    tests/fault/cred.sh (our .so and OpenSSL), holds exactly one working
#    credential, valid ~2 years, whose certificate serial is new;
#  - a renewal with the PIN typed at the console (a pseudo-terminal, which
#    Wine makes the console; tests/win/console_pin.py): prompted, the PIN
#    never shown, renewed;
#  - --check --notify prints the reminder; --pin-source pinentry is a usage
#    error; --exec after a renewal says hooks are not available (exit 12)
#    and the card is renewed all the same;
#  - --check then says fine (exit 0), and the PIN is never printed.
# Once (profile G): build/win64/cardrenew.msi installs both files in
# C:\Program Files\cardrenew and registers the module for Firefox (the
# SecurityDevices policy in the registry); the installed cardrenew.exe
# runs; removing the package removes the files and the registration.
set -u
BUILD=${BUILD:-build}
export BUILD
. tests/win/wine.inc

if [ "${1:-}" != --inner ]; then
    command -v pkcs11-tool >/dev/null || { echo "skipped: pkcs11-tool (opensc) missing"; exit 77; }
    start=$(date +%s)
    win_build
    echo "build: $(($(date +%s) - start)) s"
    rc=0
    for P in ${WIN_PROFILES:-G O}; do
        t0=$(date +%s)
        if timeout 900 tests/sandbox --profile "$P" --expires-in 20 -- sh "$0" --inner "$P"; then
            echo "PASS: profile $P: cardrenew.exe under Wine ($(($(date +%s) - t0)) s)"
        else
            echo "FAIL: profile $P: cardrenew.exe under Wine"
            rc=1
        fi
    done
    echo "total: $(($(date +%s) - start)) s"
    exit $rc
fi

# ---- inside the sandbox ----
case "$BUILD" in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
P=$2
repo=$PWD
fail() { echo "FAIL [$P]: $*"; exit 1; }
run=$CARDRENEW_SANDBOX/win
win_start "$run"
cp $W/cardrenew.exe $W/cardrenew-pkcs11.dll "$run/"
# The CA's root as Windows names it; the URL is loopback either way.
CARDRENEW_CA_CERT=$(winpath "$CARDRENEW_CA_CERT")
export CARDRENEW_CA_CERT
unset CARDRENEW_MODULE XDG_STATE_HOME XDG_CONFIG_HOME
cd "$run"
# The exe with the PIN from the environment; output in $run/$1.out.
exe() {
    out=$1; shift
    timeout 120 wine cardrenew.exe "$@" >"$out.out" 2>&1
}
# The card as Linux sees it: "objects certs=N keys=M serial=S" then
# "cred DAYS CERT_SERIAL" per working credential.
creds() {
    sh "$repo/tests/fault/cred.sh" "$BUILD/cardrenew-pkcs11.so" "$run/cred" >"$run/$1.cred" 2>&1
}
journal() {
    find "$WINEPREFIX/drive_c/users" -path '*/AppData/Local/cardrenew/*.journal' | head -n 1
}
journal_state() {
    j=$(journal)
    [ -n "$j" ] && sed -n 's/^state=//p' "$j" || echo absent
}
# The serial of the certificate the journal holds (issued, not yet on the
# card for good), or nothing.
journal_cert() {
    j=$(journal)
    [ -n "$j" ] && sed -n 's/^cert=//p' "$j" | xxd -r -p |
        openssl x509 -inform DER -noout -serial 2>/dev/null | sed 's/^serial=//'
}

if [ "$P" = G ]; then
    [ -f "$repo/$W/cardrenew.msi" ] || fail "$W/cardrenew.msi was not built (wixl missing?)"
    key='HKLM\Software\Policies\Mozilla\Firefox\SecurityDevices\Add'
    pf="$WINEPREFIX/drive_c/Program Files/cardrenew"
    wine msiexec /i "$(winpath "$repo/$W/cardrenew.msi")" /qn >msi.out 2>&1 ||
        fail "msiexec /i: $(cat msi.out)"
    cmp -s "$pf/cardrenew.exe" cardrenew.exe && cmp -s "$pf/cardrenew-pkcs11.dll" cardrenew-pkcs11.dll ||
        fail "the installer did not put both files in $pf"
    wine reg query "$key" /v cardrenew 2>&1 | tr -d '\r' |
        grep -q 'REG_SZ *C:\\Program Files\\cardrenew\\cardrenew-pkcs11.dll$' ||
        fail "no Firefox SecurityDevices entry: $(wine reg query "$key" 2>&1)"
    # Wine's own winscard.dll here: the test-only one is beside the copies in $run.
    WINEDLLOVERRIDES= wine 'C:\Program Files\cardrenew\cardrenew.exe' --version 2>&1 | grep -q '^cardrenew ' ||
        fail "the installed cardrenew.exe does not run"
    wine msiexec /x "$(winpath "$repo/$W/cardrenew.msi")" /qn >msi.out 2>&1 ||
        fail "msiexec /x: $(cat msi.out)"
    [ ! -e "$pf" ] && ! wine reg query "$key" /v cardrenew >/dev/null 2>&1 ||
        fail "removing the package left files or the Firefox entry"
    echo "  [$P] the MSI installs both files and the Firefox entry, and removes them"
fi

exe check --check; rc=$?
[ $rc = 10 ] || fail "--check before: exit $rc, want 10: $(cat check.out)"
# The reminder is a console message; pinentry is refused, saying what to use.
exe remind --check --notify; rc=$?
[ $rc = 10 ] && grep -q '^Smartcard expiry notification: .* Renew it now with cardrenew --renew' remind.out ||
    fail "--check --notify: exit $rc: $(cat remind.out)"
exe pinentry --renew --yes --pin-source pinentry; rc=$?
[ $rc = 1 ] && grep -q 'pinentry is not available on Windows.*env:VAR' pinentry.out ||
    fail "--pin-source pinentry: exit $rc: $(cat pinentry.out)"
exe status --status; rc=$?
creds before || fail "no working credential before: $(cat before.cred)"
serial=$(sed -n 's/.*serial=//p' before.cred)
[ $rc = 0 ] && grep -q "$serial" status.out || fail "--status: exit $rc: $(cat status.out)"
seen=$(awk '/^cred/ {print $3}' before.cred)
echo "  [$P] --check 10, --status shows card $serial, certificate $seen"

# kill-after-step:journal state it leaves
for point in keygen-unsaved:* keygen:keygen cmp:keygen journal:issued write:issued \
             verify:written retire:written; do
    step=${point%%:*} want=${point#*:}
    before=$(journal_state)
    CARDRENEW_TEST_KILL_AT=$step exe kill-$step --renew --force --yes \
        --pin-source env:CARDRENEW_PIN; rc=$?
    [ $rc = 137 ] || fail "killed at $step: exit $rc, want 137: $(cat kill-$step.out)"
    got=$(journal_state)
    [ "$want" = "*" ] && want=$before
    [ "$got" = "$want" ] || fail "killed at $step: journal state $got, want $want"
    held=$(journal_cert)
    creds kill-$step || fail "no working credential after a kill at $step: $(cat kill-$step.cred)"
    exe rerun-$step --renew --yes --pin-source env:CARDRENEW_PIN; rc=$?
    [ $rc = 0 ] || fail "rerun after $step: exit $rc: $(cat rerun-$step.out)"
    creds after-$step || fail "no working credential after the rerun at $step"
    grep -q '^objects certs=1 keys=1 ' after-$step.cred ||
        fail "after the rerun at $step: $(head -n 1 after-$step.cred), want one key and one certificate"
    new=$(awk '/^cred/ && $2 >= 700 && $2 <= 740 {print $3}' after-$step.cred)
    [ -n "$new" ] || fail "after the rerun at $step: no credential valid ~2 years: $(cat after-$step.cred)"
    case " $(echo $seen) " in *" $new "*) fail "after the rerun at $step: certificate $new is not new" ;; esac
    # Resumed, not started over: the certificate the journal held is the
    # one on the card.
    [ -z "$held" ] || [ "$held" = "$new" ] ||
        fail "after the rerun at $step: certificate $new, but the journal held $held"
    [ "$got" = issued ] || [ "$got" = written ] || [ -z "$held" ] ||
        fail "killed at $step: the journal holds a certificate in state $got"
    case $got in issued|written) [ -n "$held" ] || fail "killed at $step: no certificate in the journal" ;; esac
    seen="$seen $new"
    [ "$(journal_state)" = done ] || fail "after the rerun at $step: journal state $(journal_state)"
    echo "  [$P] killed after $step (exit 137, journal $got${held:+ holding $held}), rerun renewed: certificate $new"
done

# The PIN typed at the console (a pseudo-terminal, Wine's console): asked
# for, never shown, and the renewal done with it.
python3 "$repo/tests/win/console_pin.py" "$CARDRENEW_PIN" \
    wine cardrenew.exe --renew --force --yes >console.out 2>&1; rc=$?
grep -q 'Smartcard passcode (PIN):' console.out && grep -q 'now renewed' console.out &&
    [ $rc = 0 ] || fail "the console PIN prompt: exit $rc: $(cat console.out)"
grep -q -- "$CARDRENEW_PIN" console.out && fail "the PIN typed at the console was shown"
creds console && new=$(awk '/^cred/ && $2 >= 700 {print $3}' console.cred) && [ -n "$new" ] ||
    fail "the console renewal: $(cat console.cred)"
case " $(echo $seen) " in *" $new "*) fail "the console renewal: certificate $new is not new" ;; esac
seen="$seen $new"
echo "  [$P] the PIN typed at the console, not shown: renewed, certificate $new"

# No hooks on Windows: asked for, a renewal says so and exits 12, renewed.
exe hook --renew --force --yes --pin-source env:CARDRENEW_PIN --exec 'echo renewed'; rc=$?
[ $rc = 12 ] && grep -q 'not available on Windows: "echo renewed" was not run' hook.out ||
    fail "--exec: exit $rc, want 12: $(cat hook.out)"
creds hook && new=$(awk '/^cred/ && $2 >= 700 {print $3}' hook.cred) && [ -n "$new" ] &&
    grep -q '^objects certs=1 keys=1 ' hook.cred || fail "--exec: not renewed: $(cat hook.cred)"
case " $(echo $seen) " in *" $new "*) fail "--exec: certificate $new is not new" ;; esac
echo "  [$P] --check --notify reminds on the console; pinentry refused; --exec refused after renewing"

exe after --check; rc=$?
[ $rc = 0 ] || fail "--check after: exit $rc: $(cat after.out)"
cat ./*.out | grep -q -- "$CARDRENEW_PIN" && fail "the PIN was printed"
echo "ok: profile $P"
