/* io.c: the PC/SC calls on one card's handle, each bounded in time.
 *
 * A reader with no timeout of its own (vpcd; some PIN-pad readers) lets a
 * card that stops answering block SCardTransmit for ever, and pcsc-lite
 * holds the context's lock meanwhile, so every later call on that context
 * blocks too. So each card has a PC/SC context of its own, and, with a card
 * timeout set (card_set_timeout), a thread of its own that makes the
 * calls: the caller waits at most the timeout, then gets SCARD_E_TIMEOUT
 * (CARD_E_MUTE) and the call is abandoned. Until it comes back the card
 * is stuck: every call on it answers SCARD_E_TIMEOUT at once, and nothing
 * else waits for it. When it comes back (the card answers, or is pulled)
 * its transaction is ended and the card marked interrupted: card_begin
 * then reconnects as after a reset, since a command was cut off.
 *
 * The abandoned call has its own copy of the command and answer buffers,
 * so the caller's memory is never written after it gave up. Closing a
 * stuck card leaves the disconnect to its thread, which then ends. Once
 * a card has a thread the module is kept loaded (RTLD_NODELETE), so no
 * thread ever returns into unmapped code after dlclose.
 *
 * With no timeout (0: the default, and unit tests' scripted cards) the
 * calls run in the caller's thread, unbounded. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "card/card_int.h"
#include "card/plat.h"

/* Key generation and waiting for another process's transaction (which
 * may be a key generation) take longer than any other command. */
#define CARD_TIMEOUT_LONG_MS 120000u

static atomic_uint timeout_ms;

void card_set_timeout(unsigned ms)
{
    atomic_store(&timeout_ms, ms);
}

unsigned card_get_timeout(void)
{
    return atomic_load(&timeout_ms);
}

enum io_op { OP_CONNECT, OP_RECONNECT, OP_BEGIN, OP_END, OP_TRANSMIT, OP_STATUS };
enum io_state { IO_IDLE, IO_QUEUED, IO_RUNNING, IO_DONE };

struct card_io {
    struct card_io *prev, *next;    /* every card's, for card_abandon_waits */
    pthread_mutex_t m;          /* guards what follows */
    pthread_cond_t cv;
    pthread_t thread;
    bool threaded;              /* calls go to the thread */
    bool closing;               /* the card is closed: clean up and end */
    bool detached;              /* ... with nobody to join the thread */
    enum io_state st;
    bool abandoned;             /* the caller stopped waiting for this call */
    bool interrupted;           /* an abandoned call has come back since */
    const struct pcsc_ops *ops;
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    bool connected;
    /* The call: arguments in, results out; the thread's own copies. */
    enum io_op op;
    DWORD arg, proto, state;
    char reader[CARD_READER_MAX];
    uint8_t *buf;               /* the command, then the answer */
    size_t cap;
    DWORD len;
    LONG rv;
};

/* Every card, so that C_Finalize can end the waits of calls in progress. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct card_io *all;
static atomic_uint abandon_gen;
static pthread_once_t all_once = PTHREAD_ONCE_INIT;

static void all_after_fork(void)
{
    /* The parent's cards are not the child's to touch. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    all_lock = fresh;
    all = NULL;
}

static void all_init(void)
{
    plat_atfork_child(all_after_fork);
}

static void all_add(struct card_io *io)
{
    pthread_once(&all_once, all_init);
    pthread_mutex_lock(&all_lock);
    io->next = all;
    if (all)
        all->prev = io;
    all = io;
    pthread_mutex_unlock(&all_lock);
}

static void all_remove(struct card_io *io)
{
    pthread_mutex_lock(&all_lock);
    if (io->prev)
        io->prev->next = io->next;
    else if (all == io)
        all = io->next;
    if (io->next)
        io->next->prev = io->prev;
    io->prev = io->next = NULL;
    pthread_mutex_unlock(&all_lock);
}

void card_abandon_waits(void)
{
    atomic_fetch_add(&abandon_gen, 1);
    pthread_mutex_lock(&all_lock);
    for (struct card_io *io = all; io; io = io->next) {
        pthread_mutex_lock(&io->m);
        pthread_cond_broadcast(&io->cv);
        pthread_mutex_unlock(&io->m);
    }
    pthread_mutex_unlock(&all_lock);
}

static LONG run(struct card_io *io)
{
    const struct pcsc_ops *o = io->ops;
    const DWORD protos = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
    switch (io->op) {
    case OP_CONNECT: {
        SCARDHANDLE h = 0;
        LONG rv = o->connect(io->ctx, io->reader, SCARD_SHARE_SHARED, protos, &h, &io->proto);
        if (rv == SCARD_S_SUCCESS) {
            io->h = h;
            io->connected = true;
        }
        return rv;
    }
    case OP_RECONNECT:
        return o->reconnect(io->h, SCARD_SHARE_SHARED, protos, io->arg, &io->proto);
    case OP_BEGIN:
        return o->begin(io->h);
    case OP_END:
        return o->end(io->h, SCARD_LEAVE_CARD);
    case OP_TRANSMIT: {
        const SCARD_IO_REQUEST *pci = io->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
        DWORD rlen = (DWORD)io->cap;
        LONG rv = o->transmit(io->h, pci, io->buf, io->len, NULL, io->buf, &rlen);
        io->len = rlen;
        return rv;
    }
    case OP_STATUS: {
        char name[CARD_READER_MAX];
        DWORD nlen = sizeof(name), alen = (DWORD)io->cap;
        LONG rv = o->status(io->h, name, &nlen, &io->state, &io->proto, io->buf, &alen);
        io->len = alen;
        return rv;
    }
    }
    return SCARD_F_INTERNAL_ERROR;
}

static void *worker(void *arg)
{
    struct card_io *io = arg;
    pthread_mutex_lock(&io->m);
    for (;;) {
        while (io->st != IO_QUEUED && !io->closing)
            pthread_cond_wait(&io->cv, &io->m);
        if (io->st != IO_QUEUED)
            break;
        io->st = IO_RUNNING;
        pthread_mutex_unlock(&io->m);
        LONG rv = run(io);
        pthread_mutex_lock(&io->m);
        io->rv = rv;
        io->st = IO_DONE;
        if (io->abandoned) {
            /* Nobody waits for this answer. Other processes wait for the
             * transaction it may have been in. */
            pthread_mutex_unlock(&io->m);
            if (io->connected)
                io->ops->end(io->h, SCARD_LEAVE_CARD);
            pthread_mutex_lock(&io->m);
            card_secure_zero(io->buf, io->cap);
            io->abandoned = false;
            io->interrupted = true;
            io->st = IO_IDLE;
        }
        pthread_cond_broadcast(&io->cv);
    }
    if (io->connected)
        io->ops->disconnect(io->h, SCARD_LEAVE_CARD);
    io->ops->release(io->ctx);
    bool detached = io->detached;
    pthread_mutex_unlock(&io->m);
    if (detached) {
        pthread_mutex_destroy(&io->m);
        pthread_cond_destroy(&io->cv);
        card_secure_zero(io->buf, io->cap);
        free(io->buf);
        free(io);
    }
    return NULL;
}

/* A card's thread runs our code for as long as it lives, also after a
 * host's unload without C_Finalize (or with a card stuck): once there is
 * one, the module stays loaded (card/plat.h). */
static void start_thread(struct card_io *io)
{
    io->threaded = plat_thread_start(&io->thread, worker, io) == 0;
}

int card_io_new(const struct pcsc_ops *ops, struct card_io **out)
{
    struct card_io *io = calloc(1, sizeof(*io));
    if (!io)
        return CARD_E_HOST_MEMORY;
    io->ops = ops;
    LONG rv = ops->establish(SCARD_SCOPE_SYSTEM, NULL, NULL, &io->ctx);
    if (rv != SCARD_S_SUCCESS) {
        free(io);
        return card_pcsc_rv(NULL, rv);
    }
    pthread_mutex_init(&io->m, NULL);
    plat_cond_init(&io->cv);
    if (card_get_timeout())
        start_thread(io);       /* none: calls in the caller's thread */
    all_add(io);
    *out = io;
    return CARD_OK;
}

/* Takes the card for a call: false (and nothing held) while an abandoned
 * call has not come back. */
static bool claim(struct card_io *io)
{
    pthread_mutex_lock(&io->m);
    if (io->abandoned) {
        pthread_mutex_unlock(&io->m);
        return false;
    }
    return true;
}

static bool reserve(struct card_io *io, size_t n)
{
    if (io->cap >= n)
        return true;
    uint8_t *b = realloc(io->buf, n);
    if (!b)
        return false;
    io->buf = b;
    io->cap = n;
    return true;
}

/* Runs the claimed call. True when it came back: the card is still
 * claimed, for the caller to read the results and release. False when it
 * did not within ms: it is abandoned and the card released. */
static bool call(struct card_io *io, unsigned ms, LONG *rv)
{
    if (!io->threaded || !ms) {
        *rv = run(io);
        return true;
    }
    struct timespec t;
    plat_now(&t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    unsigned gen = atomic_load(&abandon_gen);
    io->st = IO_QUEUED;
    pthread_cond_broadcast(&io->cv);
    while (io->st != IO_DONE)
        if ((plat_cond_wait_until(&io->cv, &io->m, &t) == ETIMEDOUT ||
             atomic_load(&abandon_gen) != gen) && io->st != IO_DONE) {
            io->abandoned = true;
            pthread_mutex_unlock(&io->m);
            *rv = SCARD_E_TIMEOUT;
            return false;
        }
    io->st = IO_IDLE;
    *rv = io->rv;
    return true;
}

static unsigned bound(bool long_op)
{
    unsigned t = card_get_timeout();
    if (t && long_op && t < CARD_TIMEOUT_LONG_MS)
        t = CARD_TIMEOUT_LONG_MS;
    return t;
}

static LONG simple(struct card_io *io, enum io_op op, DWORD arg, bool long_op, DWORD *proto)
{
    if (!claim(io))
        return SCARD_E_TIMEOUT;
    io->op = op;
    io->arg = arg;
    LONG rv;
    if (!call(io, bound(long_op), &rv))
        return rv;
    if (proto && rv == SCARD_S_SUCCESS)
        *proto = io->proto;
    pthread_mutex_unlock(&io->m);
    return rv;
}

LONG card_io_connect(struct card_io *io, const char *reader, DWORD *proto)
{
    if (strlen(reader) >= sizeof(io->reader))
        return SCARD_E_INVALID_PARAMETER;
    if (!claim(io))
        return SCARD_E_TIMEOUT;
    strcpy(io->reader, reader);
    pthread_mutex_unlock(&io->m);
    return simple(io, OP_CONNECT, 0, false, proto);
}

LONG card_io_reconnect(struct card_io *io, DWORD init, DWORD *proto)
{
    return simple(io, OP_RECONNECT, init, false, proto);
}

LONG card_io_begin(struct card_io *io, bool wait_long)
{
    return simple(io, OP_BEGIN, 0, wait_long, NULL);
}

/* Ending a transaction and asking a handle's status are answered by pcscd
 * from its own state, never by the card: in the caller's thread, without
 * the round trip to the card's, once no earlier call is stuck. */
LONG card_io_end(struct card_io *io)
{
    if (!claim(io))
        return SCARD_E_TIMEOUT;
    io->op = OP_END;
    LONG rv;
    call(io, 0, &rv);
    pthread_mutex_unlock(&io->m);
    return rv;
}

LONG card_io_transmit(struct card_io *io, DWORD proto, const uint8_t *cmd, size_t len,
                      uint8_t *resp, size_t *resp_len)
{
    if (!claim(io))
        return SCARD_E_TIMEOUT;
    if (!reserve(io, len > *resp_len ? len : *resp_len)) {
        pthread_mutex_unlock(&io->m);
        return SCARD_E_NO_MEMORY;
    }
    memcpy(io->buf, cmd, len);
    io->len = (DWORD)len;
    io->proto = proto;
    io->op = OP_TRANSMIT;
    /* GENERATE ASYMMETRIC KEY PAIR (46, and 47 on IAS-ECC) takes a real
     * card tens of seconds. */
    bool keygen = len >= 2 && (cmd[1] == 0x46 || cmd[1] == 0x47);
    LONG rv;
    if (!call(io, bound(keygen), &rv))
        return rv;
    size_t n = io->len;
    if (rv == SCARD_S_SUCCESS) {
        if (n > *resp_len) {
            rv = SCARD_E_INSUFFICIENT_BUFFER;
        } else {
            memcpy(resp, io->buf, n);
            *resp_len = n;
        }
    }
    /* It held a PIN or a deciphered key, maybe. */
    card_secure_zero(io->buf, n > len ? n : len);
    pthread_mutex_unlock(&io->m);
    return rv;
}

LONG card_io_status(struct card_io *io, DWORD *state, DWORD *proto, uint8_t *atr, size_t *atr_len)
{
    if (!claim(io))
        return SCARD_E_TIMEOUT;
    if (!reserve(io, *atr_len)) {
        pthread_mutex_unlock(&io->m);
        return SCARD_E_NO_MEMORY;
    }
    io->op = OP_STATUS;
    LONG rv;
    call(io, 0, &rv);
    if (rv == SCARD_S_SUCCESS) {
        if (io->len > *atr_len) {
            rv = SCARD_E_INSUFFICIENT_BUFFER;
        } else {
            memcpy(atr, io->buf, io->len);
            *atr_len = io->len;
            if (state)
                *state = io->state;
            if (proto)
                *proto = io->proto;
        }
    }
    pthread_mutex_unlock(&io->m);
    return rv;
}

bool card_io_interrupted(struct card_io *io)
{
    pthread_mutex_lock(&io->m);
    bool was = io->interrupted;
    io->interrupted = false;
    pthread_mutex_unlock(&io->m);
    return was;
}

bool card_io_stuck(struct card_io *io)
{
    pthread_mutex_lock(&io->m);
    bool stuck = io->abandoned;
    pthread_mutex_unlock(&io->m);
    return stuck;
}

void card_io_free(struct card_io *io)
{
    if (!io)
        return;
    all_remove(io);
    pthread_mutex_lock(&io->m);
    io->closing = true;
    if (io->threaded && io->abandoned) {
        /* Stuck: the thread disconnects when its call comes back. */
        io->detached = true;
        pthread_detach(io->thread);
        pthread_cond_broadcast(&io->cv);
        pthread_mutex_unlock(&io->m);
        return;
    }
    pthread_cond_broadcast(&io->cv);
    pthread_mutex_unlock(&io->m);
    if (io->threaded) {
        pthread_join(io->thread, NULL);
    } else {
        if (io->connected)
            io->ops->disconnect(io->h, SCARD_LEAVE_CARD);
        io->ops->release(io->ctx);
    }
    pthread_mutex_destroy(&io->m);
    pthread_cond_destroy(&io->cv);
    card_secure_zero(io->buf, io->cap);
    free(io->buf);
    free(io);
}
