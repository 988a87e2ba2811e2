#!/bin/sh
# make fuzz: runs each target for FUZZ_SECONDS (default 60) under ASan and
# UBSan, one after the other, starting from its corpus in the tree. New
# inputs go to $BUILD/fuzz/work/<target> (the tree's corpus is not
# touched); a crash is saved as $BUILD/fuzz/crash/<target>-crash-<sha1>
# and fails the run. Prints each target's last status line (executions,
# coverage, corpus).
#   tests/fuzz/run.sh [target...]     default: every target
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FZ=$BUILD/fuzz
SECS=${FUZZ_SECONDS:-60}
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export FUZZ_X509_STRICT="${FUZZ_X509_STRICT:-1}"     # fuzz_x509.c
[ $# -gt 0 ] || set -- fuzz_tlv fuzz_x509 fuzz_pkcs15 fuzz_card_g fuzz_card_o \
                       fuzz_pkcs11 fuzz_ca_http fuzz_ca_cmp
mkdir -p "$FZ/crash"
failed=""
for t in "$@"; do
    name=${t#fuzz_}
    work=$FZ/work/$name
    mkdir -p "$work"
    log=$FZ/$name.log
    echo "fuzz: $t for ${SECS}s"
    "$FZ/$t" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$FZ/crash/$t-" \
        "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 | sed 's/^/      /'
    grep -E '^stat::number_of_executed_units' "$log" | sed 's/^/      /'
    if [ $rc -ne 0 ]; then
        failed="$failed $t"
        echo "FAIL  $t (exit $rc; log $log)"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 | sed 's/^/      /'
    fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
echo "fuzz: no crash in $# targets"
