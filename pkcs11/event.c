/* event.c: C_WaitForSlotEvent on its own PC/SC context, with no module
 * lock held while it blocks. C_Finalize cancels it; the waiter then
 * answers CKR_CRYPTOKI_NOT_INITIALIZED. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "pkcs11/p11.h"

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;  /* one waiter in PC/SC */
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static struct card_ctx *ev_ctx;
static struct card_ctx *volatile ev_orphan;
static unsigned waiters;
static bool cancelled;

void p11_event_cancel(void)
{
    pthread_mutex_lock(&ev_lock);
    cancelled = true;
    while (waiters) {
        card_ctx_cancel(ev_ctx);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ev_cond, &ev_lock, &ts);
    }
    if (ev_ctx)
        card_ctx_free(ev_ctx);
    ev_ctx = NULL;
    cancelled = false;
    pthread_mutex_unlock(&ev_lock);
}

/* In a forked child: the parent's context and locks are not ours. */
void p11_event_forget(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    ev_lock = m;
    wait_lock = m;
    ev_cond = c;
    if (ev_ctx)
        ev_orphan = ev_ctx;     /* the parent's: kept, never touched */
    ev_ctx = NULL;
    waiters = 0;
    cancelled = false;
}

static CK_RV map_reader(const char *reader, CK_SLOT_ID *slot)
{
    if (!p11_is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return p11_slot_for_reader(reader, slot);      /* takes the global lock */
}

CK_RV p11_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved)
{
    if (!p11_is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!slot || reserved)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&ev_lock);
    if (cancelled) {
        pthread_mutex_unlock(&ev_lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (!ev_ctx) {
        if (card_ctx_new(card_pcsc_default(), &ev_ctx) != CARD_OK) {
            ev_ctx = NULL;
            pthread_mutex_unlock(&ev_lock);
            return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_DEVICE_ERROR;
        }
        /* The readers' states now are what later events are measured
         * against: record them before the first look. */
        char r[8];
        for (int i = 0; i < 2 && card_ctx_wait(ev_ctx, 0, r, sizeof(r)) != CARD_E_NO_CARD; i++)
            ;
    }
    struct card_ctx *ctx = ev_ctx;
    waiters++;
    pthread_mutex_unlock(&ev_lock);

    char reader[128];
    int crv = CARD_E_ARGS;
    pthread_mutex_lock(&wait_lock);
    pthread_mutex_lock(&ev_lock);
    bool was_cancelled = cancelled;
    pthread_mutex_unlock(&ev_lock);
    while (!was_cancelled) {
        reader[0] = '\0';
        crv = card_ctx_wait(ctx, (flags & CKF_DONT_BLOCK) ? 0 : -1, reader, sizeof(reader));
        /* A reader coming or going is no slot event of its own. */
        if (crv != CARD_OK || reader[0] || (flags & CKF_DONT_BLOCK))
            break;
    }
    p11_trace("slot event wait: %s", card_rv_name(crv));

    /* Still counted as a waiter: C_Finalize waits for this to finish. */
    pthread_mutex_lock(&ev_lock);
    was_cancelled = cancelled;
    pthread_mutex_unlock(&ev_lock);
    CK_RV rv;
    if (was_cancelled || crv == CARD_E_ARGS || !p11_is_initialized())
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    else if (crv != CARD_OK || !reader[0])
        rv = (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : p11_card_rv(crv);
    else
        rv = map_reader(reader, slot);
    pthread_mutex_unlock(&wait_lock);

    pthread_mutex_lock(&ev_lock);
    waiters--;
    pthread_cond_broadcast(&ev_cond);
    pthread_mutex_unlock(&ev_lock);
    return rv;
}
