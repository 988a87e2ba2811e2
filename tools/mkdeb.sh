#!/bin/sh
# Builds build/cardrenew_<version>_<arch>.deb with dpkg-deb from what
# `make install PREFIX=/usr` puts down: the module (in the multiarch
# pkcs11 directory, named by the p11-kit file under /usr/share/p11-kit/
# modules), the CLI, the manual, the configuration and autostart entry as
# conffiles, the systemd user timer. Usage: tools/mkdeb.sh BUILD VERSION
set -eu
BUILD=$1
VERSION=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
out=$1/cardrenew_${VERSION}_${arch}.deb
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
stage=$BUILD/deb/cardrenew
rm -rf "$BUILD/deb"
mkdir -p "$stage"

make --no-print-directory -s BUILD="$BUILD" PREFIX=/usr LIBDIR="/usr/lib/$multiarch" \
    P11_MODULE_CONFIGS=/usr/share/p11-kit/modules DESTDIR="$stage" install >/dev/null

# Debian policy: stripped binaries, compressed manual, copyright and changelog.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$stage/usr/bin/cardrenew" "$stage/usr/lib/$multiarch/pkcs11/cardrenew-pkcs11.so"
gzip -9n "$stage/usr/share/man/man1/cardrenew.1"
doc=$stage/usr/share/doc/cardrenew
mkdir -p "$doc"
cat >"$doc/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: cardrenew
Comment: No licence has been chosen for cardrenew yet; until one is, this
 package carries no grant of rights beyond use on the machine it was
 built for.

Files: *
Copyright: 2026 the cardrenew authors
License: none-yet
 No licence has been chosen yet.
COPY
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'cardrenew (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo the source tree)" \
    "${DEB_MAINTAINER:-cardrenew maintainers <cardrenew@localhost>}" "$date" |
    gzip -9n >"$doc/changelog.gz"
# The hook examples (copy into /etc/cardrenew/renewed.d/ and chmod +x).
mkdir -p "$doc/examples"
install -m 0644 conf/renewed.d/* "$doc/examples/"
find "$stage" -type d -exec chmod 0755 {} +

# Shared-library dependencies, as dpkg-shlibdeps reads them.
mkdir -p "$BUILD/deb/shlibs/debian"
printf 'Source: cardrenew\n\nPackage: cardrenew\nArchitecture: any\n' \
    >"$BUILD/deb/shlibs/debian/control"
deps=$(cd "$BUILD/deb/shlibs" && dpkg-shlibdeps -O \
    "$stage/usr/bin/cardrenew" "$stage/usr/lib/$multiarch/pkcs11/cardrenew-pkcs11.so" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$stage/DEBIAN"
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
(cd "$stage" && find usr -type f -exec md5sum {} + | sort -k 2) >"$stage/DEBIAN/md5sums"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: cardrenew
Version: $VERSION
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-cardrenew maintainers <cardrenew@localhost>}
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $deps
Recommends: pcscd, pinentry-gnome3 | pinentry-curses | pinentry
Section: utils
Priority: optional
Description: PKCS#11 module and renewal tool for NHS smartcards
 cardrenew-pkcs11.so shows NHS Gemalto (Series 4/5/6) and Oberthur
 (Series 8) smartcards to every p11-kit-aware program over PC/SC.
 The cardrenew command shows the card's certificates and their expiry,
 reminds the holder before they expire (a systemd user timer and an
 autostart entry), diagnoses a card, and renews its certificate by CMP
 with the new key made on the card.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
