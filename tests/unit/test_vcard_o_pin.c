/* Profile O: VERIFY, CHANGE, RESET RETRY COUNTER with the PUK, the PIN SDO
 * as OpenSC's iasecc driver reads it, and what a reset forgets. */
#include "tests/vcard/o_test.h"

#define VERIFY_OK   "00 20 00 81 08 31 32 33 34 FF FF FF FF"
#define VERIFY_BAD  "00 20 00 81 08 39 39 39 39 FF FF FF FF"

static void verify(void **state)
{
    (void)state;
    void *st = ot_card();
    bool persist, pin;
    uint8_t resp[VC_RESP_MAX], apdu[13];
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x63C3);
    assert_true(ot_persist(st, VERIFY_BAD));
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x63C2);
    /* unpadded is accepted too, and clears the counter */
    assert_int_equal(ot_tx(st, "00 20 00 81 04 31 32 33 34", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x9000);
    /* a wrong PIN also drops the verified state */
    assert_int_equal(ot_tx(st, VERIFY_BAD, NULL, NULL), 0x63C2);
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x63C2);
    assert_int_equal(ot_tx(st, "00 20 01 81", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 20 00 82", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 20 00 81 11 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31",
                           NULL, NULL), 0x6700);
    /* the command is flagged as carrying a PIN */
    size_t n = ot_unhex(VERIFY_OK, apdu, sizeof apdu);
    vc_profile_o.process(st, apdu, n, resp, &persist, &pin);
    assert_true(pin);
    vc_profile_o.free(st);
}

static void block(void **state)
{
    (void)state;
    void *st = ot_card();
    assert_int_equal(ot_tx(st, VERIFY_BAD, NULL, NULL), 0x63C2);
    assert_int_equal(ot_tx(st, VERIFY_BAD, NULL, NULL), 0x63C1);
    assert_int_equal(ot_tx(st, VERIFY_BAD, NULL, NULL), 0x63C0);
    assert_int_equal(ot_tx(st, VERIFY_OK, NULL, NULL), 0x6983);
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x6983);
    assert_int_equal(ot_tx(st, "00 24 00 81 10 31 32 33 34 FF FF FF FF 35 36 37 38 FF FF FF FF",
                           NULL, NULL), 0x6983);
    vc_profile_o.free(st);
}

static void change(void **state)
{
    (void)state;
    void *st = ot_card();
    assert_true(ot_persist(st, "00 24 00 81 10 31 32 33 34 FF FF FF FF 35 36 37 38 39 FF FF FF"));
    assert_int_equal(ot_tx(st, VERIFY_OK, NULL, NULL), 0x63C2);
    assert_int_equal(ot_tx(st, "00 20 00 81 08 35 36 37 38 39 FF FF FF", NULL, NULL), 0x9000);
    /* unpadded old||new as the iasecc driver sends it */
    assert_int_equal(ot_tx(st, "00 24 00 81 09 35 36 37 38 39 31 32 33 34", NULL, NULL), 0x9000);
    ot_login(st);
    /* a wrong old PIN counts; a bad new PIN is refused */
    assert_int_equal(ot_tx(st, "00 24 00 81 10 39 39 39 39 FF FF FF FF 35 36 37 38 FF FF FF FF",
                           NULL, NULL), 0x63C2);
    assert_int_equal(ot_tx(st, "00 24 00 81 10 31 32 33 34 FF FF FF FF 41 42 43 44 FF FF FF FF",
                           NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 24 00 81 10 31 32 33 34 FF FF FF FF 31 32 FF FF FF FF FF FF",
                           NULL, NULL), 0x6A80);
    assert_int_equal(ot_tx(st, "00 24 00 85 02 31 32", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 24 01 81 02 31 32", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 24 00 81", NULL, NULL), 0x6700);
    vc_profile_o.free(st);
}

static void unblock(void **state)
{
    (void)state;
    void *st = ot_card();
    for (int i = 0; i < 3; i++)
        ot_tx(st, VERIFY_BAD, NULL, NULL);
    assert_int_equal(ot_tx(st, VERIFY_OK, NULL, NULL), 0x6983);
    /* P1=02 needs the PUK verified first */
    assert_int_equal(ot_tx(st, "00 2C 02 81 08 35 35 35 35 FF FF FF FF", NULL, NULL), 0x6982);
    assert_int_equal(ot_tx(st, "00 20 00 84", NULL, NULL), 0x63CA);
    assert_int_equal(ot_tx(st, "00 20 00 84 08 30 30 30 30 30 30 30 30", NULL, NULL), 0x63C9);
    assert_int_equal(ot_tx(st, "00 20 00 84 08 31 32 33 34 35 36 37 38", NULL, NULL), 0x9000);
    assert_true(ot_persist(st, "00 2C 02 81 08 35 35 35 35 FF FF FF FF"));
    assert_int_equal(ot_tx(st, "00 20 00 81 08 35 35 35 35 FF FF FF FF", NULL, NULL), 0x9000);
    /* P1=00: PUK||new PIN in one command */
    for (int i = 0; i < 3; i++)
        ot_tx(st, VERIFY_BAD, NULL, NULL);
    assert_int_equal(ot_tx(st, "00 2C 00 81 10 31 32 33 34 35 36 37 38 31 32 33 34 FF FF FF FF",
                           NULL, NULL), 0x9000);
    ot_login(st);
    /* P1=01: the PUK resets the counter only */
    ot_tx(st, VERIFY_BAD, NULL, NULL);
    assert_int_equal(ot_tx(st, "00 2C 01 81 08 31 32 33 34 35 36 37 38", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x63C3);
    assert_int_equal(ot_tx(st, "00 2C 01 81 08 39 39 39 39 39 39 39 39", NULL, NULL), 0x63C9);
    assert_int_equal(ot_tx(st, "00 2C 04 81", NULL, NULL), 0x6A86);
    assert_int_equal(ot_tx(st, "00 2C 01 84 08 31 32 33 34 35 36 37 38", NULL, NULL), 0x6A88);
    assert_int_equal(ot_tx(st, "00 2C 00 81 10 31 32 33 34 35 36 37 38 41 FF FF FF FF FF FF FF",
                           NULL, NULL), 0x6A80);
    vc_profile_o.free(st);
}

static void pin_sdo(void **state)
{
    (void)state;
    void *st = ot_card();
    uint8_t d[256];
    size_t n;
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0B 4D 09 70 07 BF 81 01 03 7F 41 80 00", d, &n), 0x9000);
    assert_int_equal(n, 13);
    assert_memory_equal(d, "\xBF\x81\x01\x09\x7F\x41\x06\x80\x01\x08\x81\x01\x04", 13);
    ot_tx(st, VERIFY_BAD, NULL, NULL);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80 00", d, &n), 0x9000);
    assert_memory_equal(d, "\xBF\x81\x01", 3);
    assert_int_equal(d[3], n - 4);
    assert_non_null(memmem(d, n, "\xA1\x08\x8C\x06\x73", 5));
    assert_non_null(memmem(d, n, "\x9A\x01\x03\x9B\x01\x02", 6));   /* 2 tries left */
    /* the security environments the ACLs name */
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF FB 02 02 7B 80 00", d, &n), 0x9000);
    assert_memory_equal(d, "\xBF\xFB\x02\x0A\x7B\x08\xA4\x06\x83\x01\x81\x95\x01\x08", 14);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF FB 05 02 7B 80 00", d, &n), 0x6A88);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 08 70 06 BF 81 02 02 A0 80 00", d, &n), 0x6A88);
    /* malformed GET DATA */
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0A 4D 09 70 06 BF 81 01 02 A0 80 00", d, &n), 0x6A80);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 04 4D 02 70 00", d, &n), 0x6A80);
    assert_int_equal(ot_tx(st, "00 CB 3F FE 0A 4D 08 70 06 BF 81 01 02 A0 80 00", d, &n), 0x6A86);
    assert_int_equal(ot_tx(st, "00 CB 3F FF", d, &n), 0x6700);
    vc_profile_o.free(st);
}

static void reset_forgets(void **state)
{
    (void)state;
    void *st = ot_card();
    ot_login(st);
    ot_select(st, "70 05");
    vc_profile_o.reset(st);
    assert_int_equal(ot_tx(st, "00 20 00 81", NULL, NULL), 0x63C3);
    assert_int_equal(ot_tx(st, "00 B0 00 00 01", NULL, NULL), 0x6986);
    vc_profile_o.free(st);
}

static void bad_create(void **state)
{
    (void)state;
    struct vc_new n = { "12a4", NULL, "X", NULL };
    assert_null(vc_profile_o.create(&n));
    n.pin = "123";
    assert_null(vc_profile_o.create(&n));
    n.pin = "123456789";
    assert_null(vc_profile_o.create(&n));
    n.pin = "1234";
    n.puk = "1234";
    assert_null(vc_profile_o.create(&n));
    n.puk = NULL;                       /* the default PUK */
    void *st = vc_profile_o.create(&n);
    assert_non_null(st);
    assert_int_equal(ot_tx(st, "00 20 00 84 08 31 32 33 34 35 36 37 38", NULL, NULL), 0x9000);
    vc_profile_o.free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verify),
        cmocka_unit_test(block),
        cmocka_unit_test(change),
        cmocka_unit_test(unblock),
        cmocka_unit_test(pin_sdo),
        cmocka_unit_test(reset_forgets),
        cmocka_unit_test(bad_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
