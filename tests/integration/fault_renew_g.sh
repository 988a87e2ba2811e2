#!/bin/sh
# The renewal promise on a profile G virtual card: the renewal is cut at every
# APDU that changes the card and the one after it (card pulled), torn in the
# middle of every write (power lost), killed after every step, and left by
# the CA after the new key is made; each time the card still holds a working
# credential (our module and OpenSC both check it) and a rerun finishes.
# The whole matrix, one line per point (tests/fault/matrix.sh).
exec sh tests/fault/matrix.sh G
