#!/bin/sh
# cmocka for the unit tests under Wine: libcmocka.a cross-built with
# mingw-w64 from Debian's own source package (the one libcmocka-dev comes
# from), its version pinned. Built once into
#   $1 (e.g. build/win64/cmocka): include/cmocka.h and libcmocka.a
# and kept there, so a second `make windows-tests` does not rebuild it.
# CARDRENEW_CMOCKA_VERSION overrides the pinned version (it must be in the
# mirror). Exit status 3: that version's source is not in the mirror.
set -eu
out=$1
host=${2:-x86_64-w64-mingw32}
VERSION=${CARDRENEW_CMOCKA_VERSION:-1.1.5-2.1}
[ -f "$out/libcmocka.a" ] && [ -f "$out/include/cmocka.h" ] && exit 0

"$(dirname "$0")/win-debsrc.sh" "cmocka=$VERSION"
work=$out.src
rm -rf "$work" && mkdir -p "$work"
if ! (cd "$work" && apt-get source -q --only-source "cmocka=$VERSION" >/dev/null 2>&1); then
    echo "cmocka: the source package cmocka=$VERSION is not in the mirror" \
         "(set CARDRENEW_CMOCKA_VERSION to the one apt-cache showsrc cmocka lists)" >&2
    rm -rf "$work"
    exit 3
fi
src=$(find "$work" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
[ -n "$src" ] || { echo "cmocka: apt-get source cmocka=$VERSION gave no tree" >&2; exit 1; }
echo "cmocka: building $VERSION for $host (seconds, once)"
mkdir "$src/build"
(cd "$src/build" &&
 cmake .. -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER="$host-gcc" \
     -DCMAKE_RC_COMPILER="$host-windres" -DCMAKE_FIND_ROOT_PATH="/usr/$host" \
     -DCMAKE_BUILD_TYPE=Release -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
     -DUNIT_TESTING=OFF >/dev/null &&
 make -s -j"$(nproc)" cmocka-static >/dev/null)
rm -rf "$out" && mkdir -p "$out/include"
cp "$src/build/src/libcmocka-static.a" "$out/libcmocka.a"
cp "$src/include/cmocka.h" "$out/include/"
rm -rf "$work"
echo "cmocka: $out/libcmocka.a"
