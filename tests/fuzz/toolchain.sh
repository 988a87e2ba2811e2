#!/bin/sh
# Exit 0 when CC can build a libFuzzer target with ASan and UBSan;
# otherwise print why (one line) and exit 1.
cc=${1:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "$cc is not installed (apt-get install clang libclang-rt-14-dev)"
    exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' |
        "$cc" -fsanitize=fuzzer,address,undefined -x c - -o "$out" >/dev/null 2>&1; then
    echo "$cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
    exit 1
fi
