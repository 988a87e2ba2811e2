/* test_card_io.c: a card that stops answering, behind the PC/SC seam
 * (card/io.c). With a card timeout a command the card never answers ends
 * with SCARD_E_TIMEOUT; until it comes back every call on that card ends
 * at once without reaching PC/SC, while another card works on; the caller's
 * buffer is never written after it gave up; the command that comes back
 * ends its transaction and marks the card interrupted, once; closing a
 * stuck card does not wait, its thread releases the context later. The
 * fake PC/SC below runs on the cards' threads: it records, never asserts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "card/card_int.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static SCARDHANDLE mute_h;      /* this card's commands hang until released */
static SCARDHANDLE last_h;      /* the handle the last connect gave */
static bool hanging, release_now;
static int transmits, ends, releases;

static LONG f_establish(DWORD s, LPCVOID a, LPCVOID b, LPSCARDCONTEXT ctx)
{
    (void)s; (void)a; (void)b;
    static SCARDCONTEXT next = 100;
    pthread_mutex_lock(&m);
    *ctx = next++;
    pthread_mutex_unlock(&m);
    return SCARD_S_SUCCESS;
}

static LONG f_release(SCARDCONTEXT ctx)
{
    (void)ctx;
    pthread_mutex_lock(&m);
    releases++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
    return SCARD_S_SUCCESS;
}

static LONG f_connect(SCARDCONTEXT ctx, LPCSTR r, DWORD share, DWORD p, LPSCARDHANDLE h, LPDWORD act)
{
    (void)r; (void)share; (void)p;
    *h = (SCARDHANDLE)ctx;      /* one handle per card's context */
    *act = SCARD_PROTOCOL_T1;
    pthread_mutex_lock(&m);
    last_h = *h;
    pthread_mutex_unlock(&m);
    return SCARD_S_SUCCESS;
}

static LONG f_ok_h(SCARDHANDLE h) { (void)h; return SCARD_S_SUCCESS; }
static LONG f_disconnect(SCARDHANDLE h, DWORD d) { (void)h; (void)d; return SCARD_S_SUCCESS; }

static LONG f_end(SCARDHANDLE h, DWORD d)
{
    (void)h; (void)d;
    pthread_mutex_lock(&m);
    ends++;
    pthread_mutex_unlock(&m);
    return SCARD_S_SUCCESS;
}

static LONG f_transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *sp, LPCBYTE cmd, DWORD len,
                       SCARD_IO_REQUEST *rp, LPBYTE resp, LPDWORD rlen)
{
    (void)sp; (void)cmd; (void)len; (void)rp;
    pthread_mutex_lock(&m);
    transmits++;
    if (h == mute_h) {
        hanging = true;
        pthread_cond_broadcast(&cv);
        while (!release_now)
            pthread_cond_wait(&cv, &m);
        release_now = false;
        hanging = false;
        mute_h = 0;
    }
    pthread_mutex_unlock(&m);
    /* An answer, late or not: 90 00 after a byte of data. */
    if (*rlen < 3)
        return SCARD_E_INSUFFICIENT_BUFFER;
    resp[0] = 0x55;
    resp[1] = 0x90;
    resp[2] = 0x00;
    *rlen = 3;
    return SCARD_S_SUCCESS;
}

static const struct pcsc_ops fake = {
    .establish = f_establish, .release = f_release, .connect = f_connect,
    .disconnect = f_disconnect, .begin = f_ok_h, .end = f_end, .transmit = f_transmit,
};

static struct card_io *open_card(SCARDHANDLE *h)
{
    struct card_io *io;
    DWORD proto = 0;
    assert_int_equal(card_io_new(&fake, &io), CARD_OK);
    assert_int_equal(card_io_connect(io, "Fake Reader", &proto), SCARD_S_SUCCESS);
    assert_int_equal(proto, SCARD_PROTOCOL_T1);
    pthread_mutex_lock(&m);
    *h = last_h;
    pthread_mutex_unlock(&m);
    return io;
}

static LONG apdu(struct card_io *io, uint8_t *resp, size_t *len)
{
    static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00 };
    return card_io_transmit(io, SCARD_PROTOCOL_T1, select, sizeof(select), resp, len);
}

static int counter(int *c)
{
    pthread_mutex_lock(&m);
    int v = *c;
    pthread_mutex_unlock(&m);
    return v;
}

static void mute(SCARDHANDLE h)
{
    pthread_mutex_lock(&m);
    mute_h = h;
    pthread_mutex_unlock(&m);
}

static void answer_late(void)
{
    pthread_mutex_lock(&m);
    while (!hanging)
        pthread_cond_wait(&cv, &m);
    release_now = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
}

static void test_mute_card_bounded(void **state)
{
    (void)state;
    /* Long enough for a healthy call under valgrind on a busy machine. */
    card_set_timeout(1500);
    SCARDHANDLE ha, hb;
    struct card_io *a = open_card(&ha), *b = open_card(&hb);
    uint8_t resp[16];
    size_t len = sizeof(resp);
    assert_int_equal(apdu(a, resp, &len), SCARD_S_SUCCESS);
    assert_int_equal(len, 3);

    /* Card a stops answering: the call ends, the card is stuck. */
    mute(ha);
    assert_int_equal(card_io_begin(a, true), SCARD_S_SUCCESS);
    int sent = counter(&transmits);
    memset(resp, 0xAA, sizeof(resp));
    len = sizeof(resp);
    assert_int_equal(apdu(a, resp, &len), SCARD_E_TIMEOUT);
    assert_true(card_io_stuck(a));
    /* Every call on it ends at once; none reaches PC/SC. */
    assert_int_equal(apdu(a, resp, &len), SCARD_E_TIMEOUT);
    assert_int_equal(card_io_end(a), SCARD_E_TIMEOUT);
    assert_int_equal(card_io_begin(a, true), SCARD_E_TIMEOUT);
    assert_int_equal(counter(&transmits), sent + 1);
    /* The other card works on. */
    len = sizeof(resp);
    uint8_t other[16];
    assert_int_equal(apdu(b, other, &len), SCARD_S_SUCCESS);

    /* The command comes back: its transaction ends, the card is marked
     * interrupted once, and works again. The late answer went nowhere. */
    int ended = counter(&ends);
    answer_late();
    while (card_io_stuck(a)) {
        struct timespec ms = { 0, 1000000L };
        nanosleep(&ms, NULL);
    }
    assert_int_equal(counter(&ends), ended + 1);
    for (size_t i = 0; i < sizeof(resp); i++)
        assert_int_equal(resp[i], 0xAA);
    assert_true(card_io_interrupted(a));
    assert_false(card_io_interrupted(a));
    len = sizeof(resp);
    assert_int_equal(apdu(a, resp, &len), SCARD_S_SUCCESS);
    assert_int_equal(resp[0], 0x55);

    /* Closed while stuck: no wait; its thread releases the context when
     * the command comes back. */
    mute(ha);
    len = sizeof(resp);
    assert_int_equal(apdu(a, resp, &len), SCARD_E_TIMEOUT);
    int released = counter(&releases);
    card_io_free(a);
    assert_int_equal(counter(&releases), released);
    answer_late();
    pthread_mutex_lock(&m);
    while (releases == released)
        pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
    card_io_free(b);
    card_set_timeout(0);
}

/* Without a timeout the calls run in the caller's thread. */
static void test_no_timeout_inline(void **state)
{
    (void)state;
    card_set_timeout(0);
    SCARDHANDLE h;
    struct card_io *a = open_card(&h);
    uint8_t resp[16];
    size_t len = sizeof(resp);
    assert_int_equal(apdu(a, resp, &len), SCARD_S_SUCCESS);
    assert_false(card_io_stuck(a));
    card_io_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mute_card_bounded),
        cmocka_unit_test(test_no_timeout_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
