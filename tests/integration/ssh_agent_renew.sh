#!/bin/sh
# ssh-agent holding the card's key (ssh-add -s) across a renewal by
# cardrenew, profile O: the agent keeps the old key, which can no longer
# sign once the renewal retired it; cardrenew's final message says to run
# ssh-add -e and ssh-add -s again; after doing so the agent holds the new
# key and signs with it (ssh-keygen -Y sign through the agent).
set -u
BUILD=${BUILD:-build}
case "$BUILD" in /*) B=$BUILD ;; *) B=$PWD/$BUILD ;; esac
for t in "$B/cardrenew" "$B/cardrenew-pkcs11.so" "$B/vcard" "$B/cmp-test-ca"; do
    [ -e "$t" ] || { echo "skipped: $t is not built"; exit 77; }
done
for t in ssh-agent ssh-add ssh-keygen unshare pcscd; do
    command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "skipped: the PC/SC stack needs root"; exit 77; }

T=$(mktemp -d /tmp/ssh-agent-renew.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
export BUILD T M="$B/cardrenew-pkcs11.so" CR="$B/cardrenew"
export XDG_STATE_HOME="$T/state" XDG_CONFIG_HOME="$T/config"
unset DBUS_SESSION_BUS_ADDRESS SSH_AUTH_SOCK SSH_AGENT_PID

timeout 300 sh tests/sandbox --profile O --expires-in 20 -- sh -c '
    fail() { echo "FAIL: $*"; exit 1; }
    # ssh-add asks for the PIN through an askpass program (never argv).
    printf "#!/bin/sh\nprintf \"%%s\\\\n\" \"\$CARDRENEW_PIN\"\n" >"$T/askpass"
    chmod 700 "$T/askpass"
    export SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force
    export SSH_AUTH_SOCK="$T/agent.sock"
    ssh-agent -D -a "$SSH_AUTH_SOCK" -P "$(readlink -f "$M")" >"$T/agent.log" 2>&1 &
    agent=$!
    trap "kill $agent 2>/dev/null" EXIT
    i=0
    while [ ! -S "$SSH_AUTH_SOCK" ]; do
        i=$((i + 1)); [ $i -le 100 ] || fail "ssh-agent did not start"; sleep 0.05
    done
    keypart() { cut -d" " -f1,2; }
    ssh-add -s "$M" </dev/null >"$T/add1" 2>&1 || fail "ssh-add -s: $(cat "$T/add1")"
    ssh-add -L | keypart >"$T/agent1"
    ssh-keygen -D "$M" 2>/dev/null | keypart >"$T/card1"
    [ -s "$T/agent1" ] && cmp -s "$T/agent1" "$T/card1" ||
        fail "the agent does not hold the card key"
    echo data >"$T/msg"
    ssh-keygen -Y sign -f "$T/agent1" -n test "$T/msg" >/dev/null 2>&1 ||
        fail "the agent cannot sign with the card key before the renewal"
    rm -f "$T/msg.sig"
    echo "ok: ssh-agent holds and signs with the card key"

    "$CR" --renew --yes --module "$M" --ca "$CARDRENEW_CA_URL" \
        --ca-cert "$CARDRENEW_CA_CERT" --pin-source env:CARDRENEW_PIN >"$T/renew" 2>&1 ||
        fail "renewal: $(cat "$T/renew")"
    grep -q "ssh-add -e and ssh-add -s again" "$T/renew" ||
        fail "the final message does not say what to do for ssh-agent: $(tail -n 2 "$T/renew")"
    echo "ok: the renewal says: $(tail -n 1 "$T/renew")"

    ssh-keygen -D "$M" 2>/dev/null | keypart >"$T/card2"
    [ -s "$T/card2" ] && ! cmp -s "$T/card1" "$T/card2" || fail "the card key did not change"
    ssh-add -L | keypart >"$T/agent2"
    cmp -s "$T/agent1" "$T/agent2" || fail "the agent no longer lists the old key"
    ssh-keygen -Y sign -f "$T/agent2" -n test "$T/msg" >/dev/null 2>&1 &&
        fail "the agent signed with a key the renewal removed"
    echo "ok: after the renewal the agent still holds the old key, which no longer signs"

    ssh-add -e "$M" >"$T/rm" 2>&1 || fail "ssh-add -e: $(cat "$T/rm")"
    ssh-add -s "$M" </dev/null >"$T/add2" 2>&1 || fail "ssh-add -s again: $(cat "$T/add2")"
    ssh-add -L | keypart >"$T/agent3"
    cmp -s "$T/agent3" "$T/card2" || fail "the agent does not hold the new key"
    ssh-keygen -Y sign -f "$T/agent3" -n test "$T/msg" >/dev/null 2>&1 ||
        fail "the agent cannot sign with the new key"
    echo "ok: after ssh-add -e and -s the agent holds and signs with the new key"
'
