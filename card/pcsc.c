/* pcsc.c: pcsc-lite behind struct pcsc_ops.
 *
 * pcsc-lite's client library keeps one reader-state buffer for the whole
 * process (readerStates in winscard_clnt.c, 1.9.9): SCardListReaders,
 * SCardStatus and SCardGetStatusChange fill it from pcscd and read it
 * holding only their own context's lock, so two contexts (the one
 * C_WaitForSlotEvent waits on and the one listing readers) tear each
 * other's reader states: wrong or missed slot events. Here those three
 * calls take one process-wide lock.
 *
 * A SCardGetStatusChange that may block holds the lock only while no one
 * else wants it: a caller who needs it cancels the wait (SCardCancel) and
 * takes its turn; the waiter then calls again with the states it was
 * given, so a change in between answers at once and no event is lost.
 * A cancel can miss (pcsc-lite drops one that comes before the wait has
 * begun), so it is sent again every CANCEL_RETRY_MS. Blocking waiters do
 * not cancel each other: they wait their turn. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "card/card.h"
#include "card/pcsc.h"
#include "card/plat.h"

#define CANCEL_RETRY_MS 20

/* A blocking SCardGetStatusChange in progress (or waiting for its turn). */
struct waiter {
    SCARDCONTEXT ctx;
    bool cancelled;             /* SCardCancel asked for this context */
    struct waiter *next;
};

static struct {
    pthread_mutex_t m;          /* guards this struct */
    pthread_cond_t cv;          /* the lock freed, or a cancel noted */
    bool held;                  /* the reader-state lock */
    unsigned quick_wanted;      /* non-blocking callers waiting for it */
    bool blocking;              /* the holder waits in SCardGetStatusChange */
    SCARDCONTEXT blocker;
    bool preempted;             /* ... and was cancelled to let one in */
    bool cancel_sent;
    struct waiter *waiters;
} rs;

static pthread_once_t rs_once = PTHREAD_ONCE_INIT;

static void rs_reset(void)
{
    pthread_mutex_init(&rs.m, NULL);
    plat_cond_init(&rs.cv);
    rs.held = rs.blocking = rs.preempted = rs.cancel_sent = false;
    rs.quick_wanted = 0;
    rs.waiters = NULL;
}

static void rs_init(void)
{
    rs_reset();
    /* In a forked child the parent's threads are gone, and the lock
     * may have been held by one of them. */
    plat_atfork_child(rs_reset);
}

static struct timespec after_ms(long ms)
{
    struct timespec ts;
    plat_now(&ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static long ms_until(const struct timespec *t)
{
    struct timespec now;
    plat_now(&now);
    return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Takes the lock for a call that does not block, cancelling a blocking
 * holder's wait. Called with rs.m held; returns with it held. */
static void quick_acquire(void)
{
    rs.quick_wanted++;
    while (rs.held) {
        if (rs.blocking && !rs.cancel_sent) {
            SCARDCONTEXT c = rs.blocker;
            rs.cancel_sent = true;
            rs.preempted = true;
            pthread_mutex_unlock(&rs.m);
            SCardCancel(c);
            pthread_mutex_lock(&rs.m);
            continue;
        }
        struct timespec t = after_ms(CANCEL_RETRY_MS);
        if (plat_cond_wait_until(&rs.cv, &rs.m, &t) == ETIMEDOUT)
            rs.cancel_sent = false;     /* it may have missed: again */
    }
    rs.quick_wanted--;
    rs.held = true;
}

static void release(void)
{
    rs.held = false;
    rs.blocking = false;
    pthread_cond_broadcast(&rs.cv);
}

static LONG locked_list_readers(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers, LPDWORD len)
{
    pthread_once(&rs_once, rs_init);
    pthread_mutex_lock(&rs.m);
    quick_acquire();
    pthread_mutex_unlock(&rs.m);
    LONG rv = SCardListReaders(ctx, groups, readers, len);
    pthread_mutex_lock(&rs.m);
    release();
    pthread_mutex_unlock(&rs.m);
    return rv;
}

static LONG locked_status(SCARDHANDLE h, LPSTR reader, LPDWORD reader_len, LPDWORD state,
                          LPDWORD proto, LPBYTE atr, LPDWORD atr_len)
{
    pthread_once(&rs_once, rs_init);
    pthread_mutex_lock(&rs.m);
    quick_acquire();
    pthread_mutex_unlock(&rs.m);
    LONG rv = SCardStatus(h, reader, reader_len, state, proto, atr, atr_len);
    pthread_mutex_lock(&rs.m);
    release();
    pthread_mutex_unlock(&rs.m);
    return rv;
}

static void waiter_remove(struct waiter *w)
{
    for (struct waiter **p = &rs.waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

static LONG locked_get_status_change(SCARDCONTEXT ctx, DWORD timeout,
                                     SCARD_READERSTATE *st, DWORD n)
{
    pthread_once(&rs_once, rs_init);
    pthread_mutex_lock(&rs.m);
    if (timeout == 0) {
        quick_acquire();
        pthread_mutex_unlock(&rs.m);
        LONG rv = SCardGetStatusChange(ctx, 0, st, n);
        pthread_mutex_lock(&rs.m);
        release();
        pthread_mutex_unlock(&rs.m);
        return rv;
    }
    struct timespec deadline = after_ms(timeout == INFINITE ? 0 : (long)timeout);
    struct waiter w = { .ctx = ctx, .next = rs.waiters };
    rs.waiters = &w;
    LONG rv;
    for (;;) {
        /* Quick callers first: they would only cancel this wait. */
        while ((rs.held || rs.quick_wanted) && !w.cancelled)
            pthread_cond_wait(&rs.cv, &rs.m);
        if (w.cancelled) {
            rv = SCARD_E_CANCELLED;
            break;
        }
        DWORD left = INFINITE;
        if (timeout != INFINITE) {
            long ms = ms_until(&deadline);
            left = ms > 0 ? (DWORD)ms : 0;
        }
        rs.held = true;
        rs.blocking = left != 0;
        rs.blocker = ctx;
        rs.preempted = rs.cancel_sent = false;
        pthread_mutex_unlock(&rs.m);
        rv = SCardGetStatusChange(ctx, left, st, n);
        pthread_mutex_lock(&rs.m);
        bool again = rv == SCARD_E_CANCELLED && rs.preempted && !w.cancelled;
        release();
        if (!again)
            break;
    }
    waiter_remove(&w);
    pthread_cond_broadcast(&rs.cv);
    pthread_mutex_unlock(&rs.m);
    return rv;
}

/* The caller's cancel: noted for the waiter on ctx, so a retried wait
 * does not swallow it, and sent until that waiter has seen it. */
static LONG locked_cancel(SCARDCONTEXT ctx)
{
    pthread_once(&rs_once, rs_init);
    pthread_mutex_lock(&rs.m);
    bool any = false;
    for (struct waiter *w = rs.waiters; w; w = w->next)
        if (w->ctx == ctx) {
            w->cancelled = true;
            any = true;
        }
    if (!any) {
        pthread_mutex_unlock(&rs.m);
        return SCardCancel(ctx);    /* no wait of ours: pcsc-lite decides */
    }
    pthread_cond_broadcast(&rs.cv);
    LONG rv = SCARD_S_SUCCESS;
    for (;;) {
        bool waiting = false;
        for (struct waiter *w = rs.waiters; w; w = w->next)
            waiting |= w->ctx == ctx;
        if (!waiting)
            break;
        bool in_wait = rs.blocking && rs.blocker == ctx;
        pthread_mutex_unlock(&rs.m);
        if (in_wait)
            rv = SCardCancel(ctx);
        pthread_mutex_lock(&rs.m);
        struct timespec t = after_ms(CANCEL_RETRY_MS);
        plat_cond_wait_until(&rs.cv, &rs.m, &t);
    }
    pthread_mutex_unlock(&rs.m);
    return rv;
}

static const struct pcsc_ops pcsclite_ops = {
    .establish = SCardEstablishContext,
    .release = SCardReleaseContext,
    .list_readers = locked_list_readers,
    .connect = SCardConnect,
    .reconnect = SCardReconnect,
    .disconnect = SCardDisconnect,
    .begin = SCardBeginTransaction,
    .end = SCardEndTransaction,
    .transmit = SCardTransmit,
    .status = locked_status,
    .get_status_change = locked_get_status_change,
    .cancel = locked_cancel,
};

const struct pcsc_ops *card_pcsc_default(void)
{
    return &pcsclite_ops;
}
