/* test_card_status.c: the no-APDU looks a poll takes (card/status.c):
 * SCardStatus on the card handle says pulled or reset, the reader state
 * gives pcsc-lite's event count; neither sends the card anything. After
 * a failed transfer, card_check_gone asks again until PC/SC says the card
 * went, within its bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "card/card_int.h"

static LONG status_rv;
static int removed_after = -1;          /* statuses until the removal shows */
static DWORD event_state;
static LONG gsc_rv;
static int statuses, transmits, begins;

static LONG f_status(SCARDHANDLE h, LPSTR reader, LPDWORD rlen, LPDWORD state,
                     LPDWORD proto, LPBYTE atr, LPDWORD alen)
{
    (void)h; (void)reader; (void)rlen; (void)proto; (void)atr;
    statuses++;
    *state = SCARD_SPECIFIC;
    *alen = 0;
    if (removed_after >= 0 && statuses > removed_after)
        return SCARD_W_REMOVED_CARD;
    return status_rv;
}

static LONG f_gsc(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *st, DWORD n)
{
    (void)ctx;
    assert_int_equal(timeout, 0);           /* a poll never waits */
    assert_int_equal(n, 1);
    assert_int_equal(st[0].dwCurrentState, SCARD_STATE_UNAWARE);
    st[0].dwEventState = event_state;
    return gsc_rv;
}

static LONG f_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *s, LPCBYTE cmd, DWORD len,
                       SCARD_IO_REQUEST *r, LPBYTE resp, LPDWORD rlen)
{
    (void)h; (void)s; (void)cmd; (void)len; (void)r; (void)resp; (void)rlen;
    transmits++;
    return SCARD_E_COMM_DATA_LOST;
}

static LONG f_begin(SCARDHANDLE h)
{
    (void)h;
    begins++;
    return SCARD_S_SUCCESS;
}

static LONG f_establish(DWORD s, LPCVOID a, LPCVOID b, LPSCARDCONTEXT ctx)
{
    (void)s; (void)a; (void)b;
    *ctx = 1;
    return SCARD_S_SUCCESS;
}

static LONG f_release(SCARDCONTEXT ctx) { (void)ctx; return SCARD_S_SUCCESS; }
static LONG f_disconnect(SCARDHANDLE h, DWORD d) { (void)h; (void)d; return SCARD_S_SUCCESS; }

static LONG f_connect(SCARDCONTEXT ctx, LPCSTR r, DWORD share, DWORD p, LPSCARDHANDLE h, LPDWORD act)
{
    (void)ctx; (void)r; (void)share; (void)p;
    *h = 7;
    *act = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}

static const struct pcsc_ops ops = {
    .establish = f_establish,
    .release = f_release,
    .connect = f_connect,
    .disconnect = f_disconnect,
    .status = f_status,
    .get_status_change = f_gsc,
    .transmit = f_transmit,
    .begin = f_begin,
};

static struct card card;

static int setup(void **state)
{
    (void)state;
    memset(&card, 0, sizeof(card));
    DWORD proto;
    if (card_io_new(&ops, &card.io) != CARD_OK ||
        card_io_connect(card.io, "r", &proto) != SCARD_S_SUCCESS)
        return -1;
    card.drv = &card_driver_o;
    statuses = transmits = begins = 0;
    removed_after = -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    card_io_free(card.io);
    return 0;
}

static void test_check_maps_pcsc(void **state)
{
    (void)state;
    status_rv = SCARD_S_SUCCESS;
    assert_int_equal(card_check(&card), CARD_OK);
    status_rv = SCARD_W_REMOVED_CARD;
    assert_int_equal(card_check(&card), CARD_E_REMOVED);
    status_rv = SCARD_W_RESET_CARD;         /* another process's C_Logout */
    assert_int_equal(card_check(&card), CARD_E_REMOVED);
    status_rv = SCARD_E_NO_SMARTCARD;
    assert_int_equal(card_check(&card), CARD_E_REMOVED);
    status_rv = SCARD_E_NO_SERVICE;         /* pcscd gone */
    assert_int_equal(card_check(&card), CARD_E_COMM);
    assert_int_equal(statuses, 5);
    assert_int_equal(transmits, 0);
    assert_int_equal(begins, 0);            /* no transaction to wait for */
    assert_false(card.lost);                /* a look changes nothing */
    assert_int_equal(card_check(NULL), CARD_E_ARGS);
}

static void test_check_lost_card(void **state)
{
    (void)state;
    card.lost = true;                       /* a reset already seen */
    status_rv = SCARD_S_SUCCESS;
    assert_int_equal(card_check(&card), CARD_E_REMOVED);
    assert_int_equal(statuses, 0);
}

/* pcscd sees the card go some polls after the transfer that failed. */
static void test_gone_once_pcsc_sees_it(void **state)
{
    (void)state;
    status_rv = SCARD_S_SUCCESS;
    removed_after = 3;
    assert_int_equal(card_check_gone(&card, 2000), CARD_E_REMOVED);
    assert_int_equal(statuses, 4);
    assert_int_equal(transmits, 0);
    assert_int_equal(begins, 0);
}

/* A card still there when the bound runs out: a passing fault. */
static void test_still_there(void **state)
{
    (void)state;
    status_rv = SCARD_S_SUCCESS;
    assert_int_equal(card_check_gone(&card, 100), CARD_OK);
    assert_int_equal(statuses, 5);          /* at 0, 25, 50, 75 and 100 ms */
    /* PC/SC itself failing says nothing of the card: asked once. */
    statuses = 0;
    status_rv = SCARD_E_NO_SERVICE;
    assert_int_equal(card_check_gone(&card, 2000), CARD_OK);
    assert_int_equal(statuses, 1);
    assert_int_equal(transmits, 0);
}

static void test_reader_events(void **state)
{
    (void)state;
    struct card_ctx ctx = { .ops = &ops };
    unsigned events = 99;
    bool present = false;
    gsc_rv = SCARD_S_SUCCESS;
    event_state = 0x00030000 | SCARD_STATE_PRESENT | SCARD_STATE_INUSE;
    assert_int_equal(card_ctx_reader_events(&ctx, "r", &events, &present), CARD_OK);
    assert_int_equal(events, 3);
    assert_true(present);
    event_state = 0x00040000 | SCARD_STATE_EMPTY;
    assert_int_equal(card_ctx_reader_events(&ctx, "r", &events, &present), CARD_OK);
    assert_int_equal(events, 4);
    assert_false(present);
    event_state = 0x00040000 | SCARD_STATE_PRESENT | SCARD_STATE_MUTE;
    assert_int_equal(card_ctx_reader_events(&ctx, "r", &events, &present), CARD_OK);
    assert_false(present);                  /* a card that does not answer */
    gsc_rv = SCARD_E_NO_SERVICE;
    assert_int_equal(card_ctx_reader_events(&ctx, "r", &events, &present), CARD_E_COMM);
    assert_int_equal(card_ctx_reader_events(NULL, "r", &events, &present), CARD_E_ARGS);
    assert_int_equal(transmits, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_maps_pcsc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_lost_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_once_pcsc_sees_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_still_there, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
