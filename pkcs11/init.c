/* init.c: C_Initialize, C_Finalize, C_GetInfo; locking; fork.
 *
 * Locking uses the application's mutex callbacks when it gives them
 * without CKF_OS_LOCKING_OK, pthreads otherwise. A static guard mutex
 * orders C_Initialize and C_Finalize. After fork() the child handler only
 * bumps a counter: every call in the child answers
 * CKR_CRYPTOKI_NOT_INITIALIZED until it calls C_Initialize, which forgets
 * the inherited state without touching the parent's PC/SC handles.
 * The global lock and the slots' locks are described in p11.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "card/plat.h"
#include "pkcs11/p11.h"

struct p11_state p11_g;

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t os_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_C_INITIALIZE_ARGS app;        /* callbacks when used */
static void *app_mutex;
static bool use_app;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static volatile unsigned fork_count;
static unsigned init_fork_count;

static void atfork_child(void)
{
    fork_count++;
}

static void atfork_register(void)
{
    plat_atfork_child(atfork_child);
}

void p11_secure_zero(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

bool p11_is_initialized(void)
{
    return p11_g.initialized && init_fork_count == fork_count;
}

void p11_lock(void)
{
    if (use_app)
        app.LockMutex(app_mutex);
    else
        pthread_mutex_lock(&os_lock);
}

void p11_unlock(void)
{
    if (use_app)
        app.UnlockMutex(app_mutex);
    else
        pthread_mutex_unlock(&os_lock);
}

/* Slot locks: the application's mutexes when it gave callbacks, pthreads
 * otherwise (static, never destroyed: a call may still be waiting for one
 * when C_Finalize returns). slot_users counts the calls holding or
 * awaiting each, under the global lock, so a trylock that finds none
 * cannot block. */
static pthread_mutex_t slot_os_lock[P11_MAX_SLOTS] = {
    [0 ... P11_MAX_SLOTS - 1] = PTHREAD_MUTEX_INITIALIZER
};
static void *slot_app_mutex[P11_MAX_SLOTS];
static unsigned slot_users[P11_MAX_SLOTS];

static void slot_raw_lock(CK_SLOT_ID id)
{
    if (use_app)
        app.LockMutex(slot_app_mutex[id]);
    else
        pthread_mutex_lock(&slot_os_lock[id]);
}

static void slot_raw_unlock(CK_SLOT_ID id)
{
    if (use_app)
        app.UnlockMutex(slot_app_mutex[id]);
    else
        pthread_mutex_unlock(&slot_os_lock[id]);
}

void p11_slot_lock(CK_SLOT_ID id)
{
    p11_lock();
    slot_users[id]++;
    p11_unlock();
    slot_raw_lock(id);
}

bool p11_slot_trylock(CK_SLOT_ID id)
{
    p11_lock();
    bool idle = slot_users[id] == 0;
    if (idle)
        slot_users[id]++;
    p11_unlock();
    if (idle)
        slot_raw_lock(id);
    return idle;
}

void p11_slot_unlock(CK_SLOT_ID id)
{
    slot_raw_unlock(id);
    p11_lock();
    slot_users[id]--;
    p11_unlock();
}

static bool slots_idle(void)
{
    p11_lock();
    bool idle = true;
    for (size_t i = 0; i < P11_MAX_SLOTS; i++)
        idle &= slot_users[i] == 0;
    p11_unlock();
    return idle;
}

static void app_slot_mutexes_destroy(void)
{
    for (size_t i = 0; i < P11_MAX_SLOTS; i++)
        if (slot_app_mutex[i]) {
            app.DestroyMutex(slot_app_mutex[i]);
            slot_app_mutex[i] = NULL;
        }
}

/* How long a card may take over a command before the call ends with
 * CKR_DEVICE_ERROR (card/io.c): CARDRENEW_CARD_TIMEOUT seconds, read
 * once, default 5; 0 turns the bound off. */
#define P11_CARD_TIMEOUT_S 5
static unsigned card_timeout_ms;

static void card_timeout_read(void)
{
    card_timeout_ms = P11_CARD_TIMEOUT_S * 1000u;
    const char *v = plat_getenv("CARDRENEW_CARD_TIMEOUT");
    if (!v || !*v)
        return;
    char *end;
    unsigned long s = strtoul(v, &end, 10);
    if (*end || s > 3600)
        p11_trace("CARDRENEW_CARD_TIMEOUT=%s ignored: seconds, 0 to 3600", v);
    else
        card_timeout_ms = (unsigned)s * 1000u;
}

/* The four cases of PKCS#11 2.40, 5.4: no args or no flags and no
 * callbacks (single-threaded, we lock anyway); OS locking; callbacks;
 * both (we use the OS). A partial set of callbacks is an error. */
static CK_RV parse_args(const CK_C_INITIALIZE_ARGS *a, bool *callbacks)
{
    *callbacks = false;
    if (!a)
        return CKR_OK;
    if (a->pReserved)
        return CKR_ARGUMENTS_BAD;
    int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    if (given == 4 && !(a->flags & CKF_OS_LOCKING_OK))
        *callbacks = true;
    return CKR_OK;
}

/* The parent's cards and PC/SC context, as the child inherited them:
 * closing them would act on the parent's connections, so they are kept
 * here, untouched, for the child's life. */
static void *volatile fork_orphans[P11_MAX_SLOTS + 1];    /* volatile: kept, though never read */
static size_t nfork_orphans;

static void orphan(void *p)
{
    if (p && nfork_orphans < sizeof(fork_orphans) / sizeof(fork_orphans[0]))
        fork_orphans[nfork_orphans++] = p;
}

/* Memory the child may free; PC/SC handles it must not touch. */
static void forget_inherited(void)
{
    orphan(p11_g.ctx);
    for (size_t i = 0; i < P11_MAX_SLOTS; i++) {
        struct p11_slot *s = &p11_g.slots[i];
        orphan(s->card);
        p11_objects_free(s);
        card_objects_clear(&s->cont);
    }
    for (size_t i = 0; i < p11_g.nsessions; i++) {
        struct p11_session *s = p11_g.sessions[i];
        p11_opstate_clear(&s->sign);
        p11_opstate_clear(&s->verify);
        p11_opstate_clear(&s->decrypt);
        free(s->found);
        free(s);
    }
    free(p11_g.sessions);
    memset(&p11_g, 0, sizeof(p11_g));
}

CK_RV p11_initialize(void *args)
{
    const CK_C_INITIALIZE_ARGS *a = args;
    bool callbacks;
    CK_RV rv = parse_args(a, &callbacks);
    if (rv != CKR_OK)
        return rv;
    pthread_once(&atfork_once, atfork_register);

    if (init_fork_count != fork_count) {
        /* In a forked child: the mutexes may have been held at fork. */
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        guard = fresh;
        os_lock = fresh;
        for (size_t i = 0; i < P11_MAX_SLOTS; i++) {
            slot_os_lock[i] = fresh;
            slot_users[i] = 0;
            slot_app_mutex[i] = NULL;   /* the parent's */
        }
        p11_event_forget();
    }
    static pthread_once_t timeout_once = PTHREAD_ONCE_INIT;
    pthread_once(&timeout_once, card_timeout_read);
    pthread_mutex_lock(&guard);
    if (p11_g.initialized && init_fork_count == fork_count) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    if (p11_g.initialized)
        forget_inherited();
    use_app = false;
    if (callbacks) {
        app = *a;
        app_mutex = NULL;
        if (app.CreateMutex(&app_mutex) != CKR_OK) {
            rv = CKR_CANT_LOCK;
            goto out;
        }
        for (size_t i = 0; i < P11_MAX_SLOTS; i++)
            if (app.CreateMutex(&slot_app_mutex[i]) != CKR_OK) {
                slot_app_mutex[i] = NULL;
                app_slot_mutexes_destroy();
                app.DestroyMutex(app_mutex);
                rv = CKR_CANT_LOCK;
                goto out;
            }
        use_app = true;
    }
    /* An application that forbids the module threads gets no bound on a
     * card's answer (the card's calls run in its threads). */
    card_set_timeout(a && (a->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS) ? 0 : card_timeout_ms);
    memset(&p11_g, 0, sizeof(p11_g));
    p11_g.next_session = 1;
    p11_g.initialized = true;
    init_fork_count = fork_count;
    rv = CKR_OK;
out:
    pthread_mutex_unlock(&guard);
    return rv;
}

CK_RV p11_finalize(void *reserved)
{
    if (reserved)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&guard);
    if (!p11_is_initialized()) {
        pthread_mutex_unlock(&guard);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    /* Wake a blocked C_WaitForSlotEvent before taking the lock. */
    p11_event_cancel();
    p11_lock();
    p11_g.initialized = false;      /* no call starts from here on */
    p11_unlock();
    /* Calls in progress end first: one waiting for a card gives up now
     * (CKR_DEVICE_ERROR). A card still stuck is left to its own thread
     * (card/io.c). */
    card_abandon_waits();
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS; i++)
        p11_slot_lock(i);
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS; i++) {
        p11_lock();
        p11_sessions_close_slot(i);
        p11_unlock();
        p11_slot_drop(&p11_g.slots[i], true);
    }
    p11_lock();
    free(p11_g.sessions);
    if (p11_g.ctx)
        card_ctx_free(p11_g.ctx);
    memset(&p11_g, 0, sizeof(p11_g));
    p11_unlock();
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS; i++)
        p11_slot_unlock(i);
    if (use_app) {
        /* Calls that were waiting for a slot find the module finalized
         * and leave; only then may the application's mutexes go. */
        while (!slots_idle()) {
            struct timespec ms = { 0, 1000000L };
            nanosleep(&ms, NULL);
        }
        app_slot_mutexes_destroy();
        app.DestroyMutex(app_mutex);
        use_app = false;
    }
    pthread_mutex_unlock(&guard);
    return CKR_OK;
}

static void pad(CK_UTF8CHAR *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    memset(dst, ' ', n);
    memcpy(dst, src, l < n ? l : n);
}

CK_RV p11_get_info(CK_INFO *info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    pad(info->manufacturerID, sizeof(info->manufacturerID), "cardrenew");
    pad(info->libraryDescription, sizeof(info->libraryDescription),
        "cardrenew NHS smartcard module");
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}
