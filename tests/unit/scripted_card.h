/* scripted_card.h: a scripted card behind struct pcsc_ops for unit tests.
 *
 * A test queues the command APDUs it expects, each with the response (or
 * the PC/SC error) to give; any other command fails the test at once.
 * Include it once per test program (it defines static state).
 */
#ifndef CARDRENEW_TEST_SCRIPTED_CARD_H
#define CARDRENEW_TEST_SCRIPTED_CARD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "card/card.h"
#include "card/pcsc.h"

#define SC_MAX_STEPS 512
#define SC_MAX_APDU 4200

struct sc_step {
    uint8_t cmd[SC_MAX_APDU];
    size_t cmd_len;
    bool prefix;                /* match only the first cmd_len bytes */
    uint8_t resp[SC_MAX_APDU];
    size_t resp_len;
    LONG rv;
};

static struct {
    struct sc_step steps[SC_MAX_STEPS];
    size_t n, pos;
    uint8_t atr[33];
    size_t atr_len;
    LONG begin_rv[8];           /* the next begin results, then success */
    size_t nbegin;
    LONG reconnect_rv;
    int begins, ends, reconnects, resets;
    uint8_t last[SC_MAX_APDU];  /* the last command sent, as sent */
    size_t last_len;
    int statuses;               /* SCardStatus calls */
    int status_removed_at;      /* from this one on the card shows pulled (0: never) */
} sc;

static inline size_t sc_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ' || *hex == '\n') {
            hex++;
            continue;
        }
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1 || n == cap)
            fail_msg("bad hex in script: %s", hex);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static inline void sc_reset(const char *atr_hex)
{
    memset(&sc, 0, sizeof(sc));
    sc.atr_len = sc_hex(atr_hex, sc.atr, sizeof(sc.atr));
}

static inline struct sc_step *sc_add(void)
{
    if (sc.n == SC_MAX_STEPS)
        fail_msg("script too long");
    struct sc_step *s = &sc.steps[sc.n++];
    memset(s, 0, sizeof(*s));
    return s;
}

/* Expect cmd (hex); answer resp (hex, data + SW). */
static inline void sc_expect(const char *cmd, const char *resp)
{
    struct sc_step *s = sc_add();
    s->cmd_len = sc_hex(cmd, s->cmd, sizeof(s->cmd));
    s->resp_len = sc_hex(resp, s->resp, sizeof(s->resp));
}

/* Expect a command starting with cmd (hex). */
static inline void sc_expect_prefix(const char *cmd, const char *resp)
{
    sc_expect(cmd, resp);
    sc.steps[sc.n - 1].prefix = true;
}

/* Binary forms: resp = data then sw. */
static inline void sc_expect_bin(const uint8_t *cmd, size_t cmd_len, const uint8_t *data,
                          size_t data_len, uint16_t sw)
{
    struct sc_step *s = sc_add();
    assert_true(cmd_len <= SC_MAX_APDU && data_len + 2 <= SC_MAX_APDU);
    memcpy(s->cmd, cmd, cmd_len);
    s->cmd_len = cmd_len;
    if (data_len)
        memcpy(s->resp, data, data_len);
    s->resp[data_len] = (uint8_t)(sw >> 8);
    s->resp[data_len + 1] = (uint8_t)sw;
    s->resp_len = data_len + 2;
}

static inline void sc_expect_data(const char *cmd, const uint8_t *data, size_t len, uint16_t sw)
{
    uint8_t c[SC_MAX_APDU];
    size_t n = sc_hex(cmd, c, sizeof(c));
    sc_expect_bin(c, n, data, len, sw);
}

/* Expect cmd; the transmit itself fails with a PC/SC error. */
static inline void sc_expect_rv(const char *cmd, LONG rv)
{
    struct sc_step *s = sc_add();
    s->cmd_len = sc_hex(cmd, s->cmd, sizeof(s->cmd));
    s->prefix = true;
    s->rv = rv;
}

static inline void sc_next_begin(LONG rv)
{
    sc.begin_rv[sc.nbegin++] = rv;
}

static inline void sc_done(void)
{
    if (sc.pos != sc.n)
        fail_msg("script not finished: %zu of %zu commands sent", sc.pos, sc.n);
}

static inline void sc_dump(char *out, size_t cap, const uint8_t *b, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02X ", b[i]);
    if (n && o < cap)
        out[o ? o - 1 : 0] = 0;
    else if (cap)
        out[0] = 0;
}

static inline LONG sc_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *spci, LPCBYTE cmd,
                        DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE resp, LPDWORD rlen)
{
    (void)h; (void)spci; (void)rpci;
    char got[600], want[600];
    sc_dump(got, sizeof(got), cmd, len > 190 ? 190 : len);
    if (sc.pos == sc.n)
        fail_msg("unexpected APDU after the script ended: %s", got);
    struct sc_step *s = &sc.steps[sc.pos++];
    sc.last_len = len < SC_MAX_APDU ? len : SC_MAX_APDU;
    memcpy(sc.last, cmd, sc.last_len);
    sc_dump(want, sizeof(want), s->cmd, s->cmd_len > 190 ? 190 : s->cmd_len);
    bool ok = s->prefix ? len >= s->cmd_len && !memcmp(cmd, s->cmd, s->cmd_len)
                        : len == s->cmd_len && !memcmp(cmd, s->cmd, len);
    if (!ok)
        fail_msg("APDU %zu: got %s (len %lu), expected %s (len %zu)", sc.pos, got,
                 (unsigned long)len, want, s->cmd_len);
    if (s->rv != SCARD_S_SUCCESS)
        return s->rv;
    if (*rlen < s->resp_len)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(resp, s->resp, s->resp_len);
    *rlen = (DWORD)s->resp_len;
    return SCARD_S_SUCCESS;
}

static inline LONG sc_establish(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx)
{
    (void)scope; (void)r1; (void)r2;
    *ctx = 1;
    return SCARD_S_SUCCESS;
}

static inline LONG sc_release(SCARDCONTEXT ctx) { (void)ctx; return SCARD_S_SUCCESS; }

static inline LONG sc_list_readers(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers, LPDWORD len)
{
    (void)ctx; (void)groups;
    static const char names[] = "Scripted Reader 0\0Scripted Reader 1\0";
    if (readers) {
        if (*len < sizeof(names))
            return SCARD_E_INSUFFICIENT_BUFFER;
        memcpy(readers, names, sizeof(names));
    }
    *len = sizeof(names);
    return SCARD_S_SUCCESS;
}

static inline LONG sc_connect(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
                       LPSCARDHANDLE h, LPDWORD active)
{
    (void)ctx; (void)reader; (void)protos;
    assert_int_equal(share, SCARD_SHARE_SHARED);
    *h = 7;
    *active = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}

static inline LONG sc_reconnect(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init,
                         LPDWORD active)
{
    (void)h; (void)protos;
    assert_int_equal(share, SCARD_SHARE_SHARED);
    assert_true(init == SCARD_LEAVE_CARD || init == SCARD_RESET_CARD);
    sc.reconnects++;
    sc.resets += init == SCARD_RESET_CARD;
    *active = SCARD_PROTOCOL_T1;
    return sc.reconnect_rv;
}

static inline LONG sc_disconnect(SCARDHANDLE h, DWORD d) { (void)h; (void)d; return SCARD_S_SUCCESS; }

static inline LONG sc_begin(SCARDHANDLE h)
{
    (void)h;
    sc.begins++;
    if (sc.nbegin) {
        LONG rv = sc.begin_rv[0];
        memmove(sc.begin_rv, sc.begin_rv + 1, --sc.nbegin * sizeof(LONG));
        return rv;
    }
    return SCARD_S_SUCCESS;
}

static inline LONG sc_end(SCARDHANDLE h, DWORD d)
{
    (void)h;
    assert_int_equal(d, SCARD_LEAVE_CARD);
    sc.ends++;
    return SCARD_S_SUCCESS;
}

static inline LONG sc_status(SCARDHANDLE h, LPSTR reader, LPDWORD rlen, LPDWORD state,
                      LPDWORD proto, LPBYTE atr, LPDWORD alen)
{
    (void)h; (void)reader; (void)rlen;
    sc.statuses++;
    if (sc.status_removed_at && sc.statuses >= sc.status_removed_at)
        return SCARD_W_REMOVED_CARD;
    if (state)
        *state = SCARD_SPECIFIC;
    if (proto)
        *proto = SCARD_PROTOCOL_T1;
    if (*alen < sc.atr_len)
        return SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(atr, sc.atr, sc.atr_len);
    *alen = (DWORD)sc.atr_len;
    return SCARD_S_SUCCESS;
}

static inline LONG sc_gsc(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *st, DWORD n)
{
    (void)ctx; (void)timeout;
    /* Every reader holds a card; a caller that did not know learns it. */
    bool news = false;
    for (DWORD i = 0; i < n; i++) {
        if (st[i].dwCurrentState == SCARD_STATE_UNAWARE)
            news = true;
        st[i].dwEventState = SCARD_STATE_PRESENT;
    }
    return news ? SCARD_S_SUCCESS : SCARD_E_TIMEOUT;
}

static inline LONG sc_cancel(SCARDCONTEXT ctx) { (void)ctx; return SCARD_S_SUCCESS; }

static const struct pcsc_ops sc_ops = {
    .establish = sc_establish,
    .release = sc_release,
    .list_readers = sc_list_readers,
    .connect = sc_connect,
    .reconnect = sc_reconnect,
    .disconnect = sc_disconnect,
    .begin = sc_begin,
    .end = sc_end,
    .transmit = sc_transmit,
    .status = sc_status,
    .get_status_change = sc_gsc,
    .cancel = sc_cancel,
};

#endif
