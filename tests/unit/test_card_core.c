/* test_card_core.c: contexts, readers, transactions and reset recovery,
 * the NULL-op rule and error names, against a scripted card. */
#include "tests/unit/scripted_card.h"

#define G_ATR "3B F9 18 00 00 81 31 FE 45 4A 43 4F 50 34 31 56 32 32 AF"


/* Profile G's init: the applet, its version, CPLC. */
static void expect_g_init(void)
{
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "90 00");
    sc_expect("80 CA DF 03 08", "90 00");
    sc_expect("80 CA 9F 7F 2D",
              "9F 7F 2A 40 70 41 70 00 00 00 00 00 00 11 22 33 44 55 66 77 88"
              " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
              " 00 00 00 00 00 90 00");
}

static struct card *open_card(struct card_ctx **ctx)
{
    sc_reset(G_ATR);
    expect_g_init();
    assert_int_equal(card_ctx_new(&sc_ops, ctx), CARD_OK);
    struct card *c = NULL;
    assert_int_equal(card_open(*ctx, "Scripted Reader 0", &c), CARD_OK);
    return c;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(card_rv_name(CARD_OK), "CARD_OK");
    assert_string_equal(card_rv_name(CARD_E_PIN_LOCKED), "CARD_E_PIN_LOCKED");
    assert_string_equal(card_rv_name(CARD_E_HOST_MEMORY), "CARD_E_HOST_MEMORY");
    for (int i = CARD_OK; i <= CARD_E_HOST_MEMORY; i++)
        assert_string_not_equal(card_rv_name((enum card_rv)i), "CARD_E_UNKNOWN");
    assert_string_equal(card_rv_name((enum card_rv)999), "CARD_E_UNKNOWN");
    assert_string_equal(card_rv_name((enum card_rv)-1), "CARD_E_UNKNOWN");
}

static void test_readers_and_wait(void **state)
{
    (void)state;
    sc_reset(G_ATR);
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(&sc_ops, &ctx), CARD_OK);
    char *names;
    size_t len;
    assert_int_equal(card_ctx_readers(ctx, &names, &len), CARD_OK);
    assert_string_equal(names, "Scripted Reader 0");
    const char *second = names + strlen(names) + 1;
    assert_string_equal(second, "Scripted Reader 1");
    assert_int_equal(second[strlen(second) + 1], 0);
    free(names);
    char reader[64];
    /* Nothing changes before the timeout. */
    assert_int_equal(card_ctx_wait(ctx, 0, reader, sizeof(reader)), CARD_E_NO_CARD);
    assert_true(card_ctx_present(ctx, "Scripted Reader 0"));
    assert_false(card_ctx_present(ctx, "Scripted Reader 0"));
    card_ctx_cancel(ctx);
    card_ctx_free(ctx);
    card_ctx_free(NULL);
}

static void test_null_args(void **state)
{
    (void)state;
    struct card_ctx *ctx;
    struct card *c = open_card(&ctx);
    assert_int_equal(card_open(ctx, NULL, &c), CARD_E_ARGS);
    assert_int_equal(card_begin(NULL), CARD_E_ARGS);
    assert_int_equal(card_sign(c, NULL, CARD_SIGN_RSA_PKCS1, NULL, 0, NULL, NULL),
                     CARD_E_ARGS);
    assert_int_equal(card_pin_verify(NULL, "1", 1), CARD_E_ARGS);
    /* The reset behind logout fails: the card is lost until recovered. */
    sc.reconnect_rv = SCARD_E_NO_SMARTCARD;
    assert_int_equal(card_logout(c), CARD_E_NO_CARD);
    sc.reconnect_rv = SCARD_S_SUCCESS;
    expect_g_init();
    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    card_end(c);
    assert_null(card_get_info(NULL));
    sc_done();
    card_close(c);
    card_close(NULL);
    card_ctx_free(ctx);
}

static void test_reset_in_begin_reported_once(void **state)
{
    (void)state;
    struct card_ctx *ctx;
    struct card *c = open_card(&ctx);
    sc_done();
    /* Another process reset the card: begin reconnects, selects the
     * applet again, and says so once. */
    sc_next_begin(SCARD_W_RESET_CARD);
    expect_g_init();
    int ends = sc.ends;
    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    assert_int_equal(sc.reconnects, 1);
    assert_int_equal(sc.ends, ends + 1);     /* not left holding it */
    sc_done();
    assert_int_equal(card_begin(c), CARD_OK);
    card_end(c);
    assert_int_equal(sc.reconnects, 1);
    assert_int_equal(sc.begins, sc.ends + 1);     /* the one that failed */
    card_close(c);
    card_ctx_free(ctx);
}

static void test_removed_in_transmit(void **state)
{
    (void)state;
    struct card_ctx *ctx;
    struct card *c = open_card(&ctx);
    assert_int_equal(card_begin(c), CARD_OK);
    int tries;
    sc_expect_rv("00 20 00 01", SCARD_W_REMOVED_CARD);
    assert_int_equal(card_pin_status(c, &tries), CARD_E_REMOVED);
    /* Nothing more goes to the lost card. */
    assert_int_equal(card_pin_status(c, &tries), CARD_E_REMOVED);
    card_end(c);
    sc_done();
    /* The card is back: recovered without a second report. */
    expect_g_init();
    assert_int_equal(card_begin(c), CARD_OK);
    sc_expect("00 20 00 01", "63 C3");
    assert_int_equal(card_pin_status(c, &tries), CARD_OK);
    card_end(c);
    sc_done();
    card_close(c);
    card_ctx_free(ctx);
}

static void test_card_gone(void **state)
{
    (void)state;
    struct card_ctx *ctx;
    struct card *c = open_card(&ctx);
    sc_done();
    sc_next_begin(SCARD_W_REMOVED_CARD);
    sc.reconnect_rv = SCARD_E_NO_SMARTCARD;
    assert_int_equal(card_begin(c), CARD_E_NO_CARD);
    assert_int_equal(card_begin(c), CARD_E_NO_CARD);
    /* Another card, or the same one, is inserted. */
    sc.reconnect_rv = SCARD_S_SUCCESS;
    expect_g_init();
    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    assert_int_equal(card_begin(c), CARD_OK);
    card_end(c);
    sc_done();
    /* A card that no longer answers the applet select stays lost. */
    sc_next_begin(SCARD_W_RESET_CARD);
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "6A 82");
    assert_int_equal(card_begin(c), CARD_E_REMOVED);
    expect_g_init();
    assert_int_equal(card_begin(c), CARD_OK);
    card_end(c);
    sc_done();
    card_close(c);
    card_ctx_free(ctx);
}

static void test_unknown_card(void **state)
{
    (void)state;
    sc_reset("3B 02 14 50");
    struct card_ctx *ctx;
    assert_int_equal(card_ctx_new(&sc_ops, &ctx), CARD_OK);
    /* No ATR matches: each driver tries its applet. */
    sc_expect("00 A4 04 00 0C A0 00 00 00 18 0A 00 00 01 63 42 00", "6A 82");
    sc_expect("00 A4 00 0C 02 3F 00", "6D 00");
    struct card *c = NULL;
    assert_int_equal(card_open(ctx, "Scripted Reader 0", &c), CARD_E_UNSUPPORTED);
    assert_null(c);
    sc_done();
    card_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_readers_and_wait),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_reset_in_begin_reported_once),
        cmocka_unit_test(test_removed_in_transmit),
        cmocka_unit_test(test_card_gone),
        cmocka_unit_test(test_unknown_card),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
