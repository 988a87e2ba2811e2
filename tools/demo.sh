#!/bin/sh
# make demo: the main job end to end on the virtual card and the test CA.
# A private stack (tests/sandbox: its own pcscd, a Series 8 card whose
# certificate expires in 20 days, a CMP test CA on loopback), then
#   cardrenew --status; cardrenew --check; cardrenew --renew; cardrenew --status
# through the PKCS#11 module, as a card holder would run them.
# Stops with a message naming what is missing while parts are not built.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$root/$BUILD ;; esac

missing=""
need() { # file, what it is
    [ -e "$1" ] || missing="$missing
  $2 ($1)"
}
need "$B/cardrenew" "the cardrenew CLI"
need "$B/cardrenew-pkcs11.so" "the PKCS#11 module"
need "$B/vcard" "the virtual card"
need "$B/cmp-test-ca" "the CMP test CA"
need "$root/tests/sandbox" "the sandbox script tests/sandbox"
if [ -n "$missing" ]; then
    echo "demo: cannot run yet; missing:$missing" >&2
    echo "demo: build them with 'make' (or wait for those parts to land)" >&2
    exit 2
fi

export BUILD CARDRENEW_MODULE="$B/cardrenew-pkcs11.so" PATH="$B:$PATH"
# The demo keeps its journal and settings out of the user's own.
demo_home=$(mktemp -d /tmp/cardrenew-demo.XXXXXX) || exit 2
trap 'rm -rf "$demo_home"' EXIT
export XDG_STATE_HOME="$demo_home/state" XDG_CONFIG_HOME="$demo_home/config"

"$root/tests/sandbox" --profile O --expires-in 20 -- sh -c '
    show() { echo; echo "\$ $*"; "$@"; rc=$?; echo "(exit $rc)"; return $rc; }
    show cardrenew --status
    show cardrenew --check
    show cardrenew --renew --yes --pin-source env:CARDRENEW_PIN || exit $?
    show cardrenew --status
'
rc=$?
echo
if [ $rc -eq 0 ]; then
    echo "demo: done: the card was renewed through the PKCS#11 module and CMP."
else
    echo "demo: failed (exit $rc): see the messages above" >&2
fi
exit $rc
