#!/bin/sh
# make check: runs every input of one target's corpus once, and the inputs
# in tests/fuzz/regress/<name>/ (crashes found and fixed), as a regression
# test (no fuzzing). Exit 77 with the reason when the target cannot be
# built here (no clang or no libFuzzer runtime).
#   tests/fuzz/replay.sh TARGET      e.g. fuzz_x509
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
t=$1
bin=$BUILD/fuzz/$t
if [ ! -x "$bin" ]; then
    if reason=$(tests/fuzz/toolchain.sh "${FUZZ_CC:-clang}"); then
        echo "$bin not built (make fuzz-build)"
        exit 1
    fi
    echo "$reason"
    exit 77
fi
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp"
dir=tests/fuzz/corpus/${t#fuzz_}
reg=tests/fuzz/regress/${t#fuzz_}
[ -d "$reg" ] || reg=
n=$(ls "$dir" $reg | grep -vc -e '^$' -e ':$')
[ "$n" -gt 0 ] || { echo "empty corpus $dir"; exit 1; }
# The walker must refuse every certificate OpenSSL refuses (fuzz_x509.c):
# regress/x509 keeps those it once took.
export FUZZ_X509_STRICT=1
# -runs=0: read and run the corpus, then stop.
mkdir -p "$BUILD/fuzz/crash"
"$bin" -runs=0 -timeout=20 -artifact_prefix="$BUILD/fuzz/crash/$t-" "$dir" $reg || exit 1
echo "$t: $n inputs replayed"
