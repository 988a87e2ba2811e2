/* o_test.h: helpers the profile O unit tests share: a blank card, APDUs
 * written as hex, login. Included by tests/unit/test_vcard_o*.c only. */
#ifndef CARDRENEW_VC_O_TEST_H
#define CARDRENEW_VC_O_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/vcard/vcard.h"

static const uint8_t ot_serial[10] = { 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0,
                                       0x11, 0x22 };

static inline void *ot_card(void)
{
    struct vc_new n = { "1234", "12345678", "Test Holder", ot_serial };
    void *st = vc_profile_o.create(&n);
    assert_non_null(st);
    return st;
}

static inline size_t ot_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        unsigned v;
        if (*hex == ' ') {
            hex++;
            continue;
        }
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

/* Sends raw bytes; returns SW, data into out (may be NULL). */
static inline uint16_t ot_txb(void *st, const uint8_t *apdu, size_t len, uint8_t *out,
                       size_t *out_len)
{
    static uint8_t resp[VC_RESP_MAX];
    bool persist, pin;
    size_t n = vc_profile_o.process(st, apdu, len, resp, &persist, &pin);
    assert_true(n >= 2 && n <= VC_RESP_MAX);
    if (out)
        memcpy(out, resp, n - 2);
    if (out_len)
        *out_len = n - 2;
    return (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
}

static inline uint16_t ot_tx(void *st, const char *hex, uint8_t *out, size_t *out_len)
{
    uint8_t apdu[5000];
    size_t n = ot_unhex(hex, apdu, sizeof apdu);
    return ot_txb(st, apdu, n, out, out_len);
}

static inline bool ot_persist(void *st, const char *hex)
{
    uint8_t apdu[600], resp[VC_RESP_MAX];
    bool persist = false, pin = false;
    size_t n = ot_unhex(hex, apdu, sizeof apdu);
    vc_profile_o.process(st, apdu, n, resp, &persist, &pin);
    return persist;
}

static inline void ot_login(void *st)
{
    assert_int_equal(ot_tx(st, "00 20 00 81 08 31 32 33 34 FF FF FF FF", NULL, NULL), 0x9000);
}

/* Selects the AWP application and then an EF in it. */
static inline void ot_select(void *st, const char *fid_hex)
{
    char cmd[64];
    assert_int_equal(ot_tx(st, "00 A4 04 0C 0D E8 28 BD 08 0F F2 50 4F 54 20 41 57 50",
                           NULL, NULL), 0x9000);
    snprintf(cmd, sizeof cmd, "00 A4 01 0C 02 %s", fid_hex);
    assert_int_equal(ot_tx(st, cmd, NULL, NULL), 0x9000);
}

static inline uint32_t ot_counter(void *st)
{
    uint8_t d[8];
    size_t n;
    ot_select(st, "50 34");
    assert_int_equal(ot_tx(st, "00 B0 00 00 04", d, &n), 0x9000);
    assert_int_equal(n, 4);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

#endif
