#!/bin/sh
# OpenSSL for the Windows build: libcrypto.a and libssl.a (the CLI's https
# CA URLs) cross-built with mingw-w64 from Debian's own source package, its
# version pinned. Built once into
#   $1 (e.g. build/win64/openssl): include/, libcrypto.a and libssl.a
# and kept there, so a second `make windows` does not rebuild it.
# CARDRENEW_OPENSSL_VERSION overrides the pinned version (it must be in the
# mirror). CARDRENEW_WIN_CACHE (optional, outside the clone) keeps a copy of the
# finished build to speed a rerun; it is never needed.
# Exit status 3: that version's source is not in the mirror.
set -eu
out=$1
arch=${2:-mingw64}
prefix=${3:-x86_64-w64-mingw32-}
VERSION=${CARDRENEW_OPENSSL_VERSION:-3.0.20-1~deb12u2}
[ -f "$out/libcrypto.a" ] && [ -f "$out/libssl.a" ] && [ -f "$out/include/openssl/opensslv.h" ] && exit 0

cache=${CARDRENEW_WIN_CACHE:-}
if [ -n "$cache" ] && [ -f "$cache/$VERSION-$arch/libssl.a" ]; then
    echo "openssl: $VERSION ($arch) from $cache"
    mkdir -p "$out" && cp -r "$cache/$VERSION-$arch/." "$out/"
    exit 0
fi

# apt-get source needs a deb-src line (tools/win-debsrc.sh adds one).
"$(dirname "$0")/win-debsrc.sh" "openssl=$VERSION"

work=$out.src
rm -rf "$work" && mkdir -p "$work"
if ! (cd "$work" && apt-get source -q --only-source "openssl=$VERSION" >/dev/null); then
    echo "openssl: the source package openssl=$VERSION is not in the mirror" \
         "(set CARDRENEW_OPENSSL_VERSION to the one apt-cache showsrc openssl lists)" >&2
    rm -rf "$work"
    exit 3
fi
src=$(find "$work" -maxdepth 1 -type d -name 'openssl-*' | head -n 1)
[ -n "$src" ] || { echo "openssl: apt-get source openssl=$VERSION gave no tree" >&2; exit 1; }
echo "openssl: building $VERSION for $arch (several minutes, once)"
(cd "$src" &&
 ./Configure "$arch" no-shared no-tests \
     --cross-compile-prefix="$prefix" >/dev/null &&
 make -s -j"$(nproc)" build_libs >/dev/null)
rm -rf "$out" && mkdir -p "$out"
cp "$src/libcrypto.a" "$src/libssl.a" "$out/"
cp -r "$src/include" "$out/include"
rm -rf "$work"
if [ -n "$cache" ] && mkdir -p "$cache/$VERSION-$arch" 2>/dev/null; then
    cp -r "$out/." "$cache/$VERSION-$arch/" || true
fi
echo "openssl: $out/libcrypto.a"
