/* bridge.h: the loopback protocol between the test-only winscard.dll
 * (winscard_fwd.c, inside Wine) and scard_bridge (Linux, on pcsc-lite).
 * One TCP connection per call: a request, then its answer. Both sides are
 * x86_64 little-endian; the structs hold fixed-width fields only. */
#ifndef CARDRENEW_TESTS_WIN_BRIDGE_H
#define CARDRENEW_TESTS_WIN_BRIDGE_H
#include <stdint.h>

enum {
    BR_ESTABLISH = 1, BR_RELEASE, BR_LIST_READERS, BR_CONNECT, BR_RECONNECT,
    BR_DISCONNECT, BR_BEGIN, BR_END, BR_TRANSMIT, BR_STATUS,
    BR_GET_STATUS_CHANGE, BR_CANCEL,
};

#define BR_NULL UINT64_MAX      /* a length for a NULL pointer */
#define BR_MAX_BLOB 70000u
#define BR_ATR 36u

struct br_req {
    uint32_t op, blen;          /* blen bytes follow */
    uint64_t a[5];
};

struct br_rsp {
    int64_t rv;                 /* the LONG, as a 32-bit PC/SC code */
    uint32_t blen, pad;         /* blen bytes follow */
    uint64_t o[4];
};

/* BR_GET_STATUS_CHANGE: a = {ctx, timeout, n}; per reader in the request
 * blob: u32 current state, u32 name length with its NUL, the name; per
 * reader in the answer blob: u32 event state, u32 ATR length, BR_ATR bytes. */
#endif
