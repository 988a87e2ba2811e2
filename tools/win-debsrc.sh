#!/bin/sh
# Makes Debian's source package $1 (name=version) fetchable by apt-get
# source for the Windows build's own libraries (tools/win-openssl.sh,
# tools/win-cmocka.sh): when it is not, adds a deb-src line with the same
# mirror and keyring as the binary packages, in a file of our own (as root).
set -eu
pkg=$1
apt-get source --print-uris "$pkg" >/dev/null 2>&1 && exit 0
list=/etc/apt/sources.list.d/cardrenew-src.sources
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
         grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' \
         /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || { echo "${pkg%%=*}: no Debian mirror found in /etc/apt" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
    echo "${pkg%%=*}: as root, add deb-src $mirror bookworm main to $list" >&2
    exit 1
fi
printf 'Types: deb-src\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" > "$list"
apt-get update -q >/dev/null
