#!/bin/sh
# Install the Debian packages listed in tools/packages.txt that are missing.
# Prints one quiet line when everything is present.
set -eu
here=$(dirname "$0")
missing=""
for p in $(grep -v '^#' "$here/packages.txt"); do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all $(grep -vc '^#' "$here/packages.txt") packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing:$missing" >&2
    echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
