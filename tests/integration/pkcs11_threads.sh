#!/bin/sh
# The module under threads (test_pkcs11_threads) with two cards: threads
# signing, finding keys and opening sessions while a card is pulled and
# put back, C_WaitForSlotEvent on its own PC/SC context beside them, and a
# mute card beside one that answers (the card timeout, 5 s, is waited once).
# Run twice: the plain build, then the ThreadSanitizer build ($BUILD/tsan,
# made by `make SAN=tsan tsan`), which must report nothing.
# Both profiles.
set -u
BUILD=${BUILD:-build}
export BUILD

if [ "${1:-}" != --inner ]; then
    for t in unshare pcscd; do
        command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
    done
    for p in cardrenew-pkcs11.so vcard cmp-test-ca tests/test_pkcs11_threads; do
        [ -f "$BUILD/$p" ] || { echo "skipped: $BUILD/$p is not built"; exit 77; }
    done
    [ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }
    builds=$BUILD
    if [ -f "$BUILD/tsan/cardrenew-pkcs11.so" ] && [ -f "$BUILD/tsan/tests/test_pkcs11_threads" ]; then
        builds="$builds $BUILD/tsan"
    else
        echo "note: no ThreadSanitizer build (make SAN=tsan tsan): plain build only"
    fi
    for P in G O; do
        for B in $builds; do
            out=$(mktemp /tmp/pkcs11-threads-test.XXXXXX)
            # A hang (a thread left waiting on the card) must not hold up
            # the whole suite: each run normally takes well under a minute.
            TEST_BUILD=$B timeout 600 sh tests/sandbox --profile "$P" --cards 2 -- \
                sh "$0" --inner >"$out" 2>&1
            rc=$?
            cat "$out"
            rm -f "$out"
            [ $rc -eq 0 ] || { echo "FAIL: profile $P, $B"; exit 1; }
            echo "ok   profile $P, $B"
        done
    done
    exit 0
fi

# ---- inside the sandbox ----
root=$PWD
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
case "$TEST_BUILD" in /*) ;; *) TEST_BUILD=$root/$TEST_BUILD ;; esac
# halt_on_error: the first race fails the run, with both stacks printed.
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp"
export TSAN_OPTIONS
CARDRENEW_TEST_THREADS=1 CARDRENEW_MODULE=$TEST_BUILD/cardrenew-pkcs11.so VCARD=$BUILD/vcard \
    "$TEST_BUILD/tests/test_pkcs11_threads"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: test_pkcs11_threads exited $rc"; exit 1; }
