/* test_pkcs11_pin_flags.c: C_GetTokenInfo's PIN flags from each
 * profile's answer to the PIN status query (an empty VERIFY), through
 * the module's C_* calls and the card drivers, a scripted card behind
 * the PC/SC seam: 63 C0 (no tries left) and 69 83 are a locked PIN,
 * 63 C1 the final try, 63 C2 a low count. */
#include "tests/unit/scripted_token.h"

static void expect_status_g(const char *sw)
{
    sc_expect("00 20 00 01", sw);
}

static void expect_status_o(const char *sw)
{
    sc_expect(AWP, "90 00");
    sc_expect("00 20 00 81", sw);
}

#define PIN_FLAGS (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)

static const struct {
    const char *sw;
    CK_FLAGS flags;
} answers[] = {
    { "90 00", 0 },                                                 /* verified */
    { "63 C3", 0 },
    { "63 C2", CKF_USER_PIN_COUNT_LOW },
    { "63 C1", CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY },
    { "63 C0", CKF_USER_PIN_LOCKED },                               /* no tries left */
    { "69 83", CKF_USER_PIN_LOCKED },
};

static void check_profile(const char *atr, void (*expect_open)(void),
                          void (*expect_status)(const char *sw),
                          void (*expect_label)(void), const char *label)
{
    CK_SLOT_ID slot;
    token_init(atr, &slot);
    expect_open();
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        expect_status(answers[i].sw);
        /* A card without a holder name: its objects, read once. */
        if (i == 0 && expect_label)
            expect_label();
        CK_TOKEN_INFO ti;
        assert_rv(f->C_GetTokenInfo(slot, &ti), CKR_OK);
        assert_memory_equal(ti.label, label, strlen(label));
        if ((ti.flags & PIN_FLAGS) != answers[i].flags)
            fail_msg("PIN status %s: flags %#lx, expected %#lx", answers[i].sw,
                     (unsigned long)(ti.flags & PIN_FLAGS), (unsigned long)answers[i].flags);
        assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    }
    token_done();
}

static void test_profile_g(void **state)
{
    (void)state;
    check_profile(G_ATR, expect_open_g, expect_status_g, expect_g_objects, "Alice Example");
}

static void test_profile_o(void **state)
{
    (void)state;
    check_profile(O_ATR, expect_open_o, expect_status_o, NULL, "DR ALICE EXAMPLE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_profile_g, token_fini),
        cmocka_unit_test_teardown(test_profile_o, token_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
