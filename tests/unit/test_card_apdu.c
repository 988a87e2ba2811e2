/* test_card_apdu.c: APDU transport rules against a scripted card. */
#include "tests/unit/scripted_card.h"
#include "card/card_int.h"

#include <unistd.h>

static char trace_path[] = "/tmp/test_card_apdu_trace_XXXXXX";

static struct card mk(bool ext, bool chain, size_t max_send)
{
    static struct card_io *io;     /* one scripted handle, kept for all */
    if (!io)
        assert_int_equal(card_io_new(&sc_ops, &io), CARD_OK);
    struct card c;
    memset(&c, 0, sizeof(c));
    c.io = io;
    c.proto = SCARD_PROTOCOL_T1;
    c.ext_len = ext;
    c.chaining = chain;
    c.max_send = max_send;
    return c;
}

static void test_case1_and_sw_map(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    sc_expect("00 A4 00 0C", "90 00");
    sc_expect("00 A4 00 0C", "6A 82");
    sc_expect("00 A4 00 0C", "63 C2");
    sc_expect("00 A4 00 0C", "63 C0");
    sc_expect("00 A4 00 0C", "69 83");
    sc_expect("00 A4 00 0C", "69 82");
    sc_expect("00 A4 00 0C", "6A 84");
    sc_expect("00 A4 00 0C", "6F 00");
    struct card_apdu a = { 0x00, 0xA4, 0x00, 0x0C, NULL, 0, false, 0, false };
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_OK);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_NOT_FOUND);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_PIN_INCORRECT);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_PIN_LOCKED);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_PIN_LOCKED);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_SECURITY);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_CARD_FULL);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_UNEXPECTED_SW);
    sc_done();
}

static void test_get_response(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    sc_expect("00 88 00 00 02 AA BB 00", "01 02 61 03");
    sc_expect("00 C0 00 00 03", "03 04 05 61 01");
    sc_expect("00 C0 00 00 01", "06 90 00");
    uint8_t d[] = { 0xAA, 0xBB }, r[16];
    size_t n = sizeof(r);
    struct card_apdu a = { 0x00, 0x88, 0x00, 0x00, d, 2, true, 0, false };
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(r, "\x01\x02\x03\x04\x05\x06", 6);
    sc_done();
}

/* A 61xx chain whose chunks each fit the caller's buffer but whose total
 * does not: refused, nothing written past the buffer (its own stack
 * object, so ASan sees a byte past it); one byte more room and it fits. */
static void test_get_response_chain_too_big(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    uint8_t d[] = { 0xAA, 0xBB };
    struct card_apdu a = { 0x00, 0x88, 0x00, 0x00, d, 2, true, 0, false };
    for (int round = 0; round < 2; round++) {
        sc_expect("00 88 00 00 02 AA BB 00", "01 02 03 61 03");
        sc_expect("00 C0 00 00 03", "04 05 06 61 01");
        sc_expect("00 C0 00 00 01", "07 90 00");
    }
    uint8_t six[6];
    size_t n = sizeof(six);
    assert_int_equal(card_apdu_run(&c, &a, six, &n), CARD_E_BAD_RESPONSE);
    assert_int_equal(n, sizeof(six));       /* not updated on failure */
    uint8_t seven[7];
    n = sizeof(seven);
    assert_int_equal(card_apdu_run(&c, &a, seven, &n), CARD_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(seven, "\x01\x02\x03\x04\x05\x06\x07", 7);
    sc_done();
}

static void test_wrong_le(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    sc_expect("80 CA 9F 7F 10", "6C 05");
    sc_expect("80 CA 9F 7F 05", "01 02 03 04 05 90 00");
    uint8_t r[16];
    size_t n = sizeof(r);
    struct card_apdu a = { 0x80, 0xCA, 0x9F, 0x7F, NULL, 0, true, 16, false };
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_OK);
    assert_int_equal(n, 5);
    /* A second 6C is not followed again. */
    sc_expect("80 CA 9F 7F 10", "6C 05");
    sc_expect("80 CA 9F 7F 05", "6C 04");
    n = sizeof(r);
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_E_UNEXPECTED_SW);
    sc_done();
}

static void test_chaining(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, true, 4);
    uint8_t d[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    sc_expect("10 D6 00 00 04 00 01 02 03", "90 00");
    sc_expect("10 D6 00 00 04 04 05 06 07", "90 00");
    sc_expect("00 D6 00 00 02 08 09", "90 00");
    struct card_apdu a = { 0x00, 0xD6, 0x00, 0x00, d, sizeof(d), false, 0, false };
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_OK);
    /* A refused link stops the chain with the card's status. */
    sc_expect("10 D6 00 00 04 00 01 02 03", "68 84");
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_UNSUPPORTED);
    /* Too long for a card with neither chaining nor extended length. */
    struct card g = mk(false, false, 4);
    assert_int_equal(card_apdu_run(&g, &a, NULL, NULL), CARD_E_ARGS);
    sc_done();
}

static void test_forced_chaining(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(true, true, 1000);
    uint8_t d[257];
    memset(d, 0x11, sizeof(d));
    uint8_t first[5 + 255];
    memcpy(first, "\x10\x2A\x80\x86\xFF", 5);
    memset(first + 5, 0x11, 255);
    sc_expect_bin(first, sizeof(first), NULL, 0, 0x9000);
    sc_expect("00 2A 80 86 02 11 11 00", "AB 90 00");
    uint8_t r[8];
    size_t n = sizeof(r);
    struct card_apdu a = { 0x00, 0x2A, 0x80, 0x86, d, sizeof(d), true, 0, true };
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_OK);
    assert_int_equal(n, 1);
    sc_done();
}

static void test_extended(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(true, true, 1000);
    uint8_t d[300];
    memset(d, 0x22, sizeof(d));
    uint8_t cmd[7 + 300 + 2];
    memcpy(cmd, "\x00\xD6\x00\x00\x00\x01\x2C", 7);
    memset(cmd + 7, 0x22, 300);
    cmd[307] = 0x00;
    cmd[308] = 0x00;
    sc_expect_bin(cmd, sizeof(cmd), NULL, 0, 0x9000);
    struct card_apdu a = { 0x00, 0xD6, 0x00, 0x00, d, sizeof(d), true, 0, false };
    uint8_t r[4];
    size_t n = sizeof(r);
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_OK);
    /* Case 2 extended: Le over 256. */
    sc_expect("00 B0 00 00 00 04 00", "90 00");
    struct card_apdu rd = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, true, 1024, false };
    n = sizeof(r);
    assert_int_equal(card_apdu_run(&c, &rd, r, &n), CARD_OK);
    assert_int_equal(n, 0);
    sc_done();
}

static void test_short_responses(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    struct card_apdu a = { 0x00, 0xA4, 0x00, 0x0C, NULL, 0, false, 0, false };
    sc_expect("00 A4 00 0C", "90");
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_COMM);
    assert_false(c.lost);
    /* More data than the caller's buffer holds. */
    sc_expect("00 A4 00 0C", "01 02 03 90 00");
    uint8_t r[2];
    size_t n = sizeof(r);
    assert_int_equal(card_apdu_run(&c, &a, r, &n), CARD_E_BAD_RESPONSE);
    sc_expect("00 A4 00 0C", "");
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_COMM);
    sc_expect_rv("00 A4", SCARD_E_NOT_TRANSACTED);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_COMM);
    assert_false(c.lost);
    sc_expect_rv("00 A4", SCARD_W_REMOVED_CARD);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_REMOVED);
    /* The card is lost: nothing more is sent until it is recovered. */
    assert_true(c.lost);
    assert_int_equal(card_apdu_run(&c, &a, NULL, NULL), CARD_E_REMOVED);
    sc_done();
}

static void test_trace_masks_pin(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    uint8_t pin[] = { 0x31, 0x32, 0x33, 0x34 };
    sc_expect("00 20 00 81 04 31 32 33 34", "90 00");
    sc_expect("00 B0 00 00 02", "AB CD 90 00");
    struct card_apdu v = { 0x00, 0x20, 0x00, 0x81, pin, 4, false, 0, false };
    assert_int_equal(card_apdu_run(&c, &v, NULL, NULL), CARD_OK);
    uint8_t r[2];
    size_t n = 2;
    struct card_apdu rd = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, true, 2, false };
    assert_int_equal(card_apdu_run(&c, &rd, r, &n), CARD_OK);
    /* A deciphered secret is masked too. */
    uint8_t ct[2] = { 0x01, 0x02 };
    sc_expect("00 2A 80 86 02 01 02 00", "5E C2 E7 90 00");
    struct card_apdu dec = { 0x00, 0x2A, 0x80, 0x86, ct, 2, true, 0, false };
    uint8_t pt[8];
    n = sizeof(pt);
    assert_int_equal(card_apdu_run(&c, &dec, pt, &n), CARD_OK);
    assert_int_equal(n, 3);
    sc_done();
    FILE *f = fopen(trace_path, "r");
    assert_non_null(f);
    char buf[4096];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[len] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "> 00 20 00 81 [5 bytes masked]"));
    assert_null(strstr(buf, "31 32 33 34"));
    assert_non_null(strstr(buf, "< AB CD 90 00"));
    assert_non_null(strstr(buf, "< [masked] 90 00"));
    assert_null(strstr(buf, "5E C2 E7"));
}

/* CHANGE REFERENCE DATA and RESET RETRY COUNTER carry PINs too (old and
 * new, PUK and new): the trace shows their header and length only,
 * whether the data goes in one command or in a chain. */
static void test_trace_masks_change_and_unblock(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, true, 8);
    uint8_t change[16] = { 0x35, 0x37, 0x39, 0x31, 0xFF, 0xFF, 0xFF, 0xFF,
                           0x36, 0x38, 0x30, 0x32, 0xFF, 0xFF, 0xFF, 0xFF };
    uint8_t unblock[12] = { 0x34, 0x36, 0x38, 0x30, 0x34, 0x36, 0x38, 0x30,
                            0x37, 0x35, 0x33, 0x31 };
    sc_expect("10 24 00 81 08 35 37 39 31 FF FF FF FF", "90 00");
    sc_expect("00 24 00 81 08 36 38 30 32 FF FF FF FF", "90 00");
    sc_expect("10 2C 00 81 08 34 36 38 30 34 36 38 30", "90 00");
    sc_expect("00 2C 00 81 04 37 35 33 31", "90 00");
    struct card_apdu chg = { 0x00, 0x24, 0x00, 0x81, change, sizeof(change), false, 0, false };
    assert_int_equal(card_apdu_run(&c, &chg, NULL, NULL), CARD_OK);
    struct card_apdu rrc = { 0x00, 0x2C, 0x00, 0x81, unblock, sizeof(unblock), false, 0, false };
    assert_int_equal(card_apdu_run(&c, &rrc, NULL, NULL), CARD_OK);
    struct card g = mk(false, false, 255);
    sc_expect("00 24 00 01 10 57 91 FF FF FF FF FF FF 68 02 FF FF FF FF FF FF", "90 00");
    uint8_t gchange[16] = { 0x57, 0x91, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                            0x68, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    struct card_apdu gchg = { 0x00, 0x24, 0x00, 0x01, gchange, sizeof(gchange), false, 0, false };
    assert_int_equal(card_apdu_run(&g, &gchg, NULL, NULL), CARD_OK);
    sc_done();
    FILE *f = fopen(trace_path, "r");
    assert_non_null(f);
    char buf[8192];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[len] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "> 10 24 00 81 [9 bytes masked]"));
    assert_non_null(strstr(buf, "> 00 24 00 81 [9 bytes masked]"));
    assert_non_null(strstr(buf, "> 10 2C 00 81 [9 bytes masked]"));
    assert_non_null(strstr(buf, "> 00 2C 00 81 [5 bytes masked]"));
    assert_non_null(strstr(buf, "> 00 24 00 01 [17 bytes masked]"));
    static const char *const secrets[] = { "35 37 39 31", "36 38 30 32", "34 36 38 30",
                                           "37 35 33 31", "57 91 FF", "68 02 FF" };
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(buf, secrets[i]))
            fail_msg("PIN bytes %s in the APDU trace", secrets[i]);
}

/* A decipher's plaintext that comes through 61xx and GET RESPONSE is
 * masked in every part, and the traced status words stay. */
static void test_trace_masks_get_response(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(false, false, 255);
    uint8_t ct[2] = { 0x01, 0x02 };
    sc_expect("00 2A 80 86 02 01 02 00", "A1 A2 61 03");
    sc_expect("00 C0 00 00 03", "B1 B2 B3 61 01");
    sc_expect("00 C0 00 00 01", "C1 90 00");
    struct card_apdu dec = { 0x00, 0x2A, 0x80, 0x86, ct, 2, true, 0, false };
    uint8_t pt[16];
    size_t n = sizeof(pt);
    assert_int_equal(card_apdu_run(&c, &dec, pt, &n), CARD_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(pt, "\xA1\xA2\xB1\xB2\xB3\xC1", 6);
    /* Another command's GET RESPONSE is traced as it is. */
    sc_expect("00 B0 00 00 00", "D1 61 01");
    sc_expect("00 C0 00 00 01", "D2 90 00");
    struct card_apdu rd = { 0x00, 0xB0, 0x00, 0x00, NULL, 0, true, 0, false };
    n = sizeof(pt);
    assert_int_equal(card_apdu_run(&c, &rd, pt, &n), CARD_OK);
    sc_done();
    FILE *f = fopen(trace_path, "r");
    assert_non_null(f);
    char buf[8192];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[len] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "< [masked] 61 03"));
    assert_non_null(strstr(buf, "< [masked] 61 01"));
    assert_non_null(strstr(buf, "< [masked] 90 00"));
    static const char *const secret[] = { "A1", "A2", "B1", "B2", "B3", "C1" };
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        char pat[8];
        snprintf(pat, sizeof(pat), " %s", secret[i]);
        assert_null(strstr(buf, pat));
    }
    assert_non_null(strstr(buf, "< D1 61 01"));
    assert_non_null(strstr(buf, "< D2 90 00"));
}

/* An APDU without data goes out without offsetting its NULL data
 * pointer (clang's UBSan: "applying zero offset to null pointer"). */
static void test_no_data(void **state)
{
    (void)state;
    sc_reset("3B 00");
    struct card c = mk(true, true, 255);
    sc_expect("00 84 00 00 08", "01 02 03 04 05 06 07 08 90 00");
    sc_expect("80 CA 9F 7F", "90 00");
    uint8_t r[8];
    size_t n = sizeof(r);
    struct card_apdu ch = { 0x00, 0x84, 0x00, 0x00, NULL, 0, true, 8, false };
    assert_int_equal(card_apdu_run(&c, &ch, r, &n), CARD_OK);
    assert_int_equal(n, 8);
    struct card_apdu one = { 0x80, 0xCA, 0x9F, 0x7F, NULL, 0, false, 0, true };
    assert_int_equal(card_apdu_run(&c, &one, NULL, NULL), CARD_OK);
    sc_done();
}

int main(void)
{
    int fd = mkstemp(trace_path);
    if (fd < 0)
        return 1;
    close(fd);
    setenv("CARDRENEW_APDU_TRACE", trace_path, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case1_and_sw_map),
        cmocka_unit_test(test_get_response),
        cmocka_unit_test(test_get_response_chain_too_big),
        cmocka_unit_test(test_wrong_le),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_forced_chaining),
        cmocka_unit_test(test_extended),
        cmocka_unit_test(test_short_responses),
        cmocka_unit_test(test_trace_masks_pin),
        cmocka_unit_test(test_trace_masks_change_and_unblock),
        cmocka_unit_test(test_trace_masks_get_response),
        cmocka_unit_test(test_no_data),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(trace_path);
    return rv;
}
