#!/bin/sh
# After a real renewal on the sandbox card, --exec and every executable of
# the hook directory (CARDRENEW_HOOK_DIR) run with CARDRENEW_NEW_CERT and
# CARDRENEW_OLD_CERT (PEM: the card's certificate after and before),
# CARDRENEW_SERIAL and CARDRENEW_NOT_AFTER; hidden, non-executable and
# dpkg leftover files are skipped; a failing hook is one line on stderr
# and exit 12, and the card keeps its new certificate. The example hook
# conf/renewed.d/ssh-authorized-keys swaps the key in an authorized_keys.
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$(pwd)/$BUILD ;; esac
for p in vcard cmp-test-ca cardrenew cardrenew-pkcs11.so; do
    [ -e "$B/$p" ] || { echo "skipped: $B/$p is not built"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
command -v ssh-keygen >/dev/null || { echo "skipped: ssh-keygen missing (openssh-client)"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export B W XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
export CARDRENEW_MODULE=$B/cardrenew-pkcs11.so CARDRENEW_HOOK_DIR=$W/hooks
mkdir -p "$W/hooks" "$W/seen"
cat >"$W/hooks/10-record" <<'H'
#!/bin/sh
env | grep '^CARDRENEW_' | grep -v '^CARDRENEW_\(MODULE\|HOOK_DIR\|CA_\|SANDBOX\|PIN\)' | sort >"$W/seen/env"
cp "$CARDRENEW_NEW_CERT" "$W/seen/new.pem"
cp "$CARDRENEW_OLD_CERT" "$W/seen/old.pem"
echo "$0" >>"$W/seen/ran"
[ -z "${CARDRENEW_PIN+set}" ] || echo "the PIN's variable reached a hook" >"$W/seen/pin"
H
printf '#!/bin/sh\necho "$0" >>"$W/seen/ran"\nexit 3\n' >"$W/hooks/20-fails"
printf '#!/bin/sh\necho "$0" >>"$W/seen/ran"\n' >"$W/hooks/30-after"
for f in .hidden 40-old.dpkg-old 50-backup~ 60-not-executable; do
    printf '#!/bin/sh\necho "$0" >>"$W/seen/ran"\n' >"$W/hooks/$f"
done
chmod +x "$W/hooks/10-record" "$W/hooks/20-fails" "$W/hooks/30-after" "$W/hooks/.hidden" \
    "$W/hooks/40-old.dpkg-old" "$W/hooks/50-backup~"
ln -s "$(pwd)/conf/renewed.d/ssh-authorized-keys" "$W/hooks/70-ssh-authorized-keys"

cat >"$W/inside.sh" <<'INSIDE'
S=$CARDRENEW_SANDBOX
ssh_key() { openssl x509 -in "$1" -pubkey -noout | ssh-keygen -i -m PKCS8 -f /dev/stdin | cut -d' ' -f1,2; }
export AUTHORIZED_KEYS=$W/authorized_keys
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA0000000000000000000000000000000000000000000 other\nfrom="10.0.0.0/8" %s card-of-jane\n' \
    "$(ssh_key "$S/cert.pem")" >"$AUTHORIZED_KEYS"
cp "$S/cert.pem" "$W/seen/initial.pem"
"$B/cardrenew" --renew --yes --pin-source env:CARDRENEW_PIN \
    --exec 'echo "exec $CARDRENEW_SERIAL" >>"$W/seen/ran"' >"$W/renew.out" 2>"$W/renew.err"
echo $? >"$W/renew.rc"
"$B/cardrenew" --status >"$W/status.out" 2>&1
pkcs11-tool --module "$CARDRENEW_MODULE" --list-objects --type cert 2>/dev/null |
    sed -n 's/^ *ID: *//p' | head -n 1 >"$W/id"
pkcs11-tool --module "$CARDRENEW_MODULE" --read-object --type cert --id "$(cat "$W/id")" \
    -o "$W/card.der" >/dev/null 2>&1
INSIDE
tests/sandbox --expires-in 20 -- sh "$W/inside.sh" || { echo "FAIL: the sandbox run"; exit 1; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
[ "$(cat "$W/renew.rc")" = 12 ] || { bad "exit $(cat "$W/renew.rc"), want 12 (a hook failed)"; cat "$W/renew.out" "$W/renew.err"; }
grep -q ' 730 ' "$W/status.out" || { bad "the renewal was undone or did not happen"; cat "$W/status.out"; }
[ "$(grep -c . "$W/renew.err")" = 1 ] || { bad "want exactly one line on stderr"; cat "$W/renew.err"; }
grep -q "^cardrenew: the hook $W/hooks/20-fails failed (exit 3): the renewal itself is done$" "$W/renew.err" ||
    bad "the failing hook's line: $(cat "$W/renew.err")"
serial=$(awk 'NR == 2 { print $1 }' "$W/status.out")
printf 'exec %s\n%s\n%s\n%s\n%s\n' "$serial" "$W/hooks/10-record" "$W/hooks/20-fails" \
    "$W/hooks/30-after" "$W/hooks/70-ssh-authorized-keys" >"$W/want-ran"
# The ssh example writes nothing to "ran": filter it out of the expectation.
grep -v 70-ssh "$W/want-ran" | diff - "$W/seen/ran" || bad "the hooks that ran, or their order"

openssl x509 -inform DER -in "$W/card.der" -out "$W/card.pem"
[ "$(openssl x509 -in "$W/seen/new.pem" -noout -fingerprint)" = "$(openssl x509 -in "$W/card.pem" -noout -fingerprint)" ] ||
    bad "CARDRENEW_NEW_CERT is not the card's certificate"
[ "$(openssl x509 -in "$W/seen/old.pem" -noout -fingerprint)" = "$(openssl x509 -in "$W/seen/initial.pem" -noout -fingerprint)" ] ||
    bad "CARDRENEW_OLD_CERT is not the certificate the card had"
[ "$(openssl x509 -in "$W/seen/old.pem" -noout -pubkey)" != "$(openssl x509 -in "$W/seen/new.pem" -noout -pubkey)" ] ||
    bad "old and new certificates share a key"
na=$(openssl x509 -in "$W/seen/new.pem" -noout -enddate | sed 's/^notAfter=//')
want_na=$(date -u -d "$na" +%Y-%m-%dT%H:%M:%SZ)
grep -qx "CARDRENEW_NOT_AFTER=$want_na" "$W/seen/env" || bad "CARDRENEW_NOT_AFTER (want $want_na)"
grep -qx "CARDRENEW_SERIAL=$serial" "$W/seen/env" || bad "CARDRENEW_SERIAL (want $serial)"
for v in NEW_CERT OLD_CERT; do
    p=$(sed -n "s/^CARDRENEW_$v=//p" "$W/seen/env")
    [ -n "$p" ] || bad "CARDRENEW_$v not set"
    [ -e "$p" ] && bad "CARDRENEW_$v ($p) was left behind"
done
ssh_key() { openssl x509 -in "$1" -pubkey -noout | ssh-keygen -i -m PKCS8 -f /dev/stdin | cut -d' ' -f1,2; }
grep -qx "from=\"10.0.0.0/8\" $(ssh_key "$W/seen/new.pem") card-of-jane" "$W/authorized_keys" ||
    { bad "the ssh-authorized-keys example did not swap the key"; cat "$W/authorized_keys"; }
grep -q "$(ssh_key "$W/seen/old.pem" | cut -d' ' -f2)" "$W/authorized_keys" && bad "the old key is still trusted"
grep -q '^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA0* other$' "$W/authorized_keys" || bad "another key was touched"
[ -e "$W/seen/pin" ] && bad "$(cat "$W/seen/pin")"
echo "hook environment after the renewal:"; sed 's/^/    /' "$W/seen/env"
[ $fail -eq 0 ] && echo "ok: hooks ran after the renewal with both certificates; a failing hook is exit 12 and undoes nothing"
exit $fail
