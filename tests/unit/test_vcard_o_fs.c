/* Profile O: APDU framing, SELECT in the iasecc driver's forms, FCPs,
 * READ/UPDATE BINARY, CREATE/DELETE FILE, chaining, GET RESPONSE. */
#include "tests/vcard/o_test.h"

static void atr_and_name(void **state)
{
    (void)state;
    static const uint8_t atr[] = { 0x3B, 0xDD, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x45,
        0x80, 0xF9, 0xA0, 0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x90, 0x00, 0xFE };
    assert_string_equal(vc_profile_o.name, "O");
    assert_int_equal(vc_profile_o.atr_len, sizeof atr);
    assert_memory_equal(vc_profile_o.atr, atr, sizeof atr);
}

static void select_forms(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[VC_RESP_MAX];
    size_t n;
    assert_int_equal(ot_tx(st, "00 A4 00 0C 02 3F 00", d, &n), 0x9000);
    assert_int_equal(n, 0);
    /* the root by its AID, FCP returned */
    assert_int_equal(ot_tx(st, "00 A4 04 04 10 A0 00 00 00 77 01 08 00 07 00 00 FE 00 00 01 00 00",
                           d, &n), 0x9000);
    assert_int_equal(d[0], 0x62);
    /* EF.ATR from the current DF, P1=09 P2=04: size and READ=00 rule */
    assert_int_equal(ot_tx(st, "00 A4 09 04 02 2F 01 00", d, &n), 0x9000);
    assert_memory_equal(d + 2, "\x80\x02\x00", 3);
    assert_memory_equal(d + n - 11, "\xA1\x09\x8C\x07\x7B", 5);
    assert_int_equal(d[n - 1], 0x00);
    size_t size = d[5];
    assert_int_equal(ot_tx(st, "00 B0 00 00 00", d, &n), 0x9000);
    assert_int_equal(n, size);
    bool e0 = false;
    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == 0xE0 && d[i + 1] == 0x10)
            e0 = true;
    assert_true(e0);
    /* GlobalPlatform card managers are absent */
    assert_int_equal(ot_tx(st, "00 A4 04 0C 07 A0 00 00 00 03 00 00", NULL, NULL), 0x6A82);
    /* EF.SN by SFI 1C */
    assert_int_equal(ot_tx(st, "00 B0 9C 00 C0", d, &n), 0x9000);
    assert_int_equal(n, 12);
    assert_memory_equal(d, "\x5A\x0A", 2);
    assert_memory_equal(d + 2, ot_serial, 10);
    /* EF.DIR holds the AWP AID */
    assert_int_equal(ot_tx(st, "00 A4 02 0C 02 2F 00", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 B0 00 00 00", d, &n), 0x9000);
    assert_memory_equal(d, "\x61", 1);
    assert_memory_equal(d + 4, "\xE8\x28\xBD\x08\x0F\xF2\x50\x4F\x54\x20\x41\x57\x50", 13);
    /* path from the MF */
    assert_int_equal(ot_tx(st, "00 A4 08 0C 04 50 00 50 32", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 B0 00 00 00", d, &n), 0x9000);
    assert_int_equal(d[0], 0x30);
    assert_non_null(memmem(d, n, "Test Holder", 11));
    assert_non_null(memmem(d, n, "\x04\x08\x56\x78\x9A\xBC\xDE\xF0\x11\x22", 10));
    /* AWP, then EFs as the iasecc driver selects them (P1=01, P2=04) */
    assert_int_equal(ot_tx(st, "00 A4 04 04 0D E8 28 BD 08 0F F2 50 4F 54 20 41 57 50 00",
                           d, &n), 0x9000);
    assert_int_equal(ot_tx(st, "00 A4 01 04 02 50 31 00", d, &n), 0x9000);
    assert_int_equal(ot_tx(st, "00 B0 00 00 00", d, &n), 0x9000);
    assert_memory_equal(d, "\xA8\x06\x30\x04\x04\x02\x70\x01", 8);
    assert_int_equal(ot_tx(st, "00 A4 01 04 02 70 01 00", d, &n), 0x9000);
    assert_int_equal(ot_tx(st, "00 A4 03 0C", NULL, NULL), 0x9000);   /* parent */
    vc_profile_o.free(st);
}

static void select_errors(void **state)
{
    (void)state;
    void *st = ot_card();
    assert_int_equal(ot_tx(st, "00 A4 00 0C 02 12 34", NULL, NULL), 0x6A82);
    assert_int_equal(ot_tx(st, "00 A4 00 07 02 3F 00", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 A4 05 0C 02 3F 00", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 A4 02 0C 03 2F 00 00", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 A4 08 0C 03 50 00 50", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 A4 04 0C 05 E8 28 BD 08 00", NULL, NULL), 0x6A82);
    /* a failed SELECT keeps the current file */
    assert_int_equal(ot_tx(st, "00 A4 02 0C 02 2F 00", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 A4 02 0C 02 99 99", NULL, NULL), 0x6A82);
    assert_int_equal(ot_tx(st, "00 B0 00 00 01", NULL, NULL), 0x9000);
    vc_profile_o.free(st);
}

static void framing(void **state)
{
    (void)state;
    void *st = ot_card();
    assert_int_equal(ot_tx(st, "00 A4 00", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 A4 00 0C 05 3F 00", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 A4 00 0C 00 00 05 3F", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 12 00 00", NULL, NULL), 0x6D00);
    assert_int_equal(ot_tx(st, "80 A4 00 0C 02 3F 00", NULL, NULL), 0x6E00);
    assert_int_equal(ot_tx(st, "00 C0 00 00 10", NULL, NULL), 0x6985);
    /* extended length SELECT */
    assert_int_equal(ot_tx(st, "00 A4 00 0C 00 00 02 3F 00", NULL, NULL), 0x9000);
    vc_profile_o.free(st);
}

static void read_binary(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[VC_RESP_MAX], full[VC_RESP_MAX];
    size_t n, size;
    assert_int_equal(ot_tx(st, "00 B0 00 00 10", NULL, NULL), 0x6986);   /* no EF */
    ot_select(st, "50 32");
    assert_int_equal(ot_tx(st, "00 B0 00 00 00", full, &size), 0x9000);
    assert_true(size > 5);
    /* past the end: the remainder with 90 00 */
    char cmd[32];
    snprintf(cmd, sizeof cmd, "00 B0 00 %02zX 00", size - 5);
    assert_int_equal(ot_tx(st, cmd, d, &n), 0x9000);
    assert_int_equal(n, 5);
    assert_memory_equal(d, full + size - 5, 5);
    snprintf(cmd, sizeof cmd, "00 B0 00 %02zX 00", size);
    assert_int_equal(ot_tx(st, cmd, NULL, NULL), 0x6B00);
    assert_int_equal(ot_tx(st, "00 B0 00 00", NULL, NULL), 0x6700);      /* no Le */
    assert_int_equal(ot_tx(st, "00 B0 81 00 10", NULL, NULL), 0x6A82);   /* no SFI 1 */
    /* extended Le reads the whole 960-byte CDF at once */
    ot_select(st, "70 05");
    assert_int_equal(ot_tx(st, "00 B0 00 00 00 00 00", d, &n), 0x9000);
    assert_int_equal(n, 960);
    vc_profile_o.free(st);
}

static void update_binary(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[VC_RESP_MAX];
    size_t n;
    ot_select(st, "70 05");
    assert_int_equal(ot_tx(st, "00 D6 00 00 02 30 00", NULL, NULL), 0x6982);
    ot_login(st);
    uint32_t before = ot_counter(st);
    ot_select(st, "70 05");
    assert_true(ot_persist(st, "00 D6 00 10 02 AB CD"));
    assert_int_equal(ot_counter(st), before + 1);
    ot_select(st, "70 05");
    assert_int_equal(ot_tx(st, "00 B0 00 10 02", d, &n), 0x9000);
    assert_memory_equal(d, "\xAB\xCD", 2);
    assert_int_equal(ot_tx(st, "00 D6 03 C0 01 00", NULL, NULL), 0x6B00);   /* 960 */
    assert_int_equal(ot_tx(st, "00 D6 03 BF 02 00 00", NULL, NULL), 0x6700);
    assert_int_equal(ot_tx(st, "00 D6 00 00", NULL, NULL), 0x6700);
    /* the card's own files are never updated */
    ot_select(st, "50 31");
    assert_int_equal(ot_tx(st, "00 D6 00 00 01 00", NULL, NULL), 0x6982);
    ot_select(st, "50 34");
    assert_int_equal(ot_tx(st, "00 D6 00 00 01 00", NULL, NULL), 0x6982);

    /* extended length: the whole 960-byte file in one command */
    uint8_t apdu[1000] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x03, 0xC0 };
    for (int i = 0; i < 960; i++)
        apdu[7 + i] = (uint8_t)i;
    ot_select(st, "70 02");
    assert_int_equal(ot_txb(st, apdu, 967, NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 B0 03 BE 02", d, &n), 0x9000);
    assert_memory_equal(d, "\xBE\xBF", 2);
    /* more than the card takes in one command */
    uint8_t big[1200] = { 0x00, 0xD6, 0x00, 0x00, 0x00, 0x04, 0x80 };
    assert_int_equal(ot_txb(st, big, 7 + 0x480, NULL, NULL), 0x6700);
    vc_profile_o.free(st);
}

static void chaining(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[16];
    size_t n;
    ot_login(st);
    ot_select(st, "70 04");
    assert_int_equal(ot_tx(st, "10 D6 00 00 02 11 22", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 D6 00 00 02 33 44", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 B0 00 00 04", d, &n), 0x9000);
    assert_memory_equal(d, "\x11\x22\x33\x44", 4);
    /* the last command of a chain must match its header */
    assert_int_equal(ot_tx(st, "10 D6 00 00 02 11 22", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 D6 00 01 02 33 44", NULL, NULL), 0x6883);
    /* a chained command with Le is malformed */
    assert_int_equal(ot_tx(st, "10 D6 00 00 02 11 22 00", NULL, NULL), 0x6700);
    vc_profile_o.free(st);
}

static void create_delete(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[64];
    size_t n;
    ot_select(st, "50 31");
    assert_int_equal(ot_tx(st, "00 E0 00 00 0A 62 08 83 02 34 05 80 02 01 00", NULL, NULL), 0x6982);
    ot_login(st);
    uint32_t before = ot_counter(st);
    assert_true(ot_persist(st, "00 E0 00 00 0A 62 08 83 02 34 05 80 02 01 00"));
    assert_int_equal(ot_counter(st), before + 1);
    assert_int_equal(ot_tx(st, "00 A4 01 04 02 34 05 00", d, &n), 0x9000);
    assert_memory_equal(d + 2, "\x80\x02\x01\x00", 4);
    assert_int_equal(ot_tx(st, "00 A4 03 0C", NULL, NULL), 0x9000);
    ot_select(st, "50 31");
    assert_int_equal(ot_tx(st, "00 E0 00 00 0A 62 08 83 02 34 05 80 02 01 00", NULL, NULL), 0x6A89);
    assert_int_equal(ot_tx(st, "00 E0 00 00 0A 62 08 83 02 34 06 80 02 7F FF", NULL, NULL), 0x6A84);
    assert_int_equal(ot_tx(st, "00 E0 00 00 06 62 04 83 02 34 06", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 E0 00 00 06 62 09 83 02 34 06", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 E0 00 00 07 62 05 83 02 34 06 80", NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 E0 01 00 0A 62 08 83 02 34 05 80 02 01 00", NULL, NULL), 0x6A86);
    /* DELETE FILE by FID, and of the current EF */
    before = ot_counter(st);
    assert_int_equal(ot_tx(st, "00 A4 03 0C", NULL, NULL), 0x9000);
    ot_select(st, "50 31");
    assert_true(ot_persist(st, "00 E4 00 00 02 34 05"));
    assert_int_equal(ot_counter(st), before + 1);
    ot_select(st, "50 31");
    assert_int_equal(ot_tx(st, "00 E4 00 00 02 34 05", NULL, NULL), 0x6A82);
    assert_int_equal(ot_tx(st, "00 E4 00 00 02 50 31", NULL, NULL), 0x6982);
    assert_int_equal(ot_tx(st, "00 E0 00 00 0A 62 08 83 02 34 07 80 02 00 10", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 E4 00 00", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 A4 01 0C 02 34 07", NULL, NULL), 0x6A82);
    /* files until the card is full */
    uint16_t sw = 0x9000;
    for (int i = 0; i < 60 && sw == 0x9000; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "00 E0 00 00 0A 62 08 83 02 60 %02X 80 02 08 00", i);
        sw = ot_tx(st, cmd, NULL, NULL);
    }
    assert_int_equal(sw, 0x6A84);
    vc_profile_o.free(st);
}

/* Random commands in the card's own instruction set: always a status
 * word, never a crash (run under ASan and valgrind). */
static void garbage(void **state)
{
    (void)state;
    static const uint8_t ins[] = { 0xA4, 0xB0, 0xD6, 0xE0, 0xE4, 0x20, 0x24, 0x2C,
                                   0xCB, 0xDB, 0x47, 0x22, 0x2A, 0x88, 0x84, 0xC0 };
    void *st = ot_card();
    EVP_PKEY *pub = NULL;
    assert_int_equal(vc_profile_o.perso_generate(st, "rsa1024", &pub), 0);
    EVP_PKEY_free(pub);
    uint32_t x = 12345;
    uint8_t apdu[300];
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        x = x * 1103515245u + 12345u;
        len = (x >> 16) % sizeof apdu;
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            apdu[k] = (uint8_t)(x >> 16);
        }
        if (len > 1)
            apdu[1] = ins[apdu[1] % sizeof ins];
        if (len > 0)
            apdu[0] &= 0x10;
        if (len > 4 && (i & 1))
            apdu[4] = (uint8_t)(len - 5);      /* often a consistent Lc */
        if (i % 1000 == 0)       /* ends any chain; the PIN may be blocked by now */
            ot_tx(st, "00 20 00 81 08 31 32 33 34 FF FF FF FF", NULL, NULL);
        uint16_t sw = ot_txb(st, apdu, len, NULL, NULL);
        assert_true((sw >> 8) == 0x90 || (sw >> 8) == 0x61 || (sw >> 8) == 0x6C ||
                    (sw >> 8) == 0x63 || (sw >> 12) == 6);
    }
    vc_profile_o.free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atr_and_name),
        cmocka_unit_test(select_forms),
        cmocka_unit_test(select_errors),
        cmocka_unit_test(framing),
        cmocka_unit_test(read_binary),
        cmocka_unit_test(update_binary),
        cmocka_unit_test(chaining),
        cmocka_unit_test(create_delete),
        cmocka_unit_test(garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
