/* test_pkcs11_threads.c: the module under threads, as hosts use it. Runs
 * only inside a card sandbox (tests/integration/pkcs11_threads.sh sets
 * CARDRENEW_TEST_THREADS=1, CARDRENEW_MODULE, CARDRENEW_PIN, VCARD,
 * VCARD_CONTROL and, with a second card, VCARD_CONTROL1); elsewhere every
 * test is skipped. The script runs it plain and under ThreadSanitizer.
 * - Threads open sessions, log in, find keys and sign while the card is
 *   pulled and put back, and one thread waits in C_WaitForSlotEvent on
 *   its own PC/SC context: every answer is one a host can act on (a
 *   removal is CKR_DEVICE_REMOVED, never CKR_DEVICE_ERROR), the
 *   waiter sees the card go and come, and every thread signs again after;
 *   with the module's locks on pthreads, then on the application's
 *   mutex callbacks.
 * - A mute card (the second reader's card keeps answering): the call on
 *   it ends with CKR_DEVICE_ERROR after the card timeout; meanwhile the
 *   other card signs, and C_GetSlotList, C_GetSlotInfo and
 *   C_GetSessionInfo answer; until the card answers again its calls end
 *   at once; C_Finalize answers while it is still mute (and while a call
 *   waits for it: that call gives up); a new C_Initialize meets the card
 *   still stuck and C_GetSlotInfo answers; once it is pulled and put back
 *   it signs again. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <p11-kit/pkcs11.h>

static void *lib;
static CK_FUNCTION_LIST *f;
static const char *pin;

static void msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    (void)state;
    const char *m = getenv("CARDRENEW_MODULE");
    pin = getenv("CARDRENEW_PIN");
    if (!getenv("CARDRENEW_TEST_THREADS") || !m || !pin)
        return 0;
    lib = dlopen(m, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return -1;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    return gfl && gfl(&f) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (lib)
        dlclose(lib);
    return 0;
}

static int init(void **state)
{
    (void)state;
    if (!f)
        return 0;
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.flags = CKF_OS_LOCKING_OK;
    return f->C_Initialize(&a) == CKR_OK ? 0 : -1;
}

/* Case 3 of PKCS#11 2.40 5.4: the application's mutexes, here pthreads. */
static CK_RV app_create(CK_VOID_PTR_PTR m)
{
    pthread_mutex_t *p = malloc(sizeof(*p));
    if (!p)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(p, NULL);
    *m = p;
    return CKR_OK;
}
static CK_RV app_destroy(CK_VOID_PTR m)
{
    pthread_mutex_destroy(m);
    free(m);
    return CKR_OK;
}
static CK_RV app_lock(CK_VOID_PTR m) { return pthread_mutex_lock(m) ? CKR_GENERAL_ERROR : CKR_OK; }
static CK_RV app_unlock(CK_VOID_PTR m) { return pthread_mutex_unlock(m) ? CKR_GENERAL_ERROR : CKR_OK; }

static int init_app_mutexes(void **state)
{
    (void)state;
    if (!f)
        return 0;
    CK_C_INITIALIZE_ARGS a = { app_create, app_destroy, app_lock, app_unlock, 0, NULL };
    return f->C_Initialize(&a) == CKR_OK ? 0 : -1;
}

static int fini(void **state)
{
    (void)state;
    if (f)
        f->C_Finalize(NULL);
    return 0;
}

#define NEED_TOKEN() do { if (!f) skip(); } while (0)

static void ctl(const char *control, const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "\"%s\" ctl --control \"%s\" %s >/dev/null",
             getenv("VCARD"), control, what);
    assert_int_equal(system(cmd), 0);
}

/* The slot of the reader whose name ends in suffix ("00 00", "00 01"). */
static CK_SLOT_ID slot_of(const char *suffix)
{
    CK_SLOT_ID ids[16];
    CK_ULONG n = 16;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_SLOT_INFO si;
        assert_int_equal(f->C_GetSlotInfo(ids[i], &si), CKR_OK);
        char d[65];
        memcpy(d, si.slotDescription, 64);
        d[64] = 0;
        for (int k = 63; k >= 0 && d[k] == ' '; k--)
            d[k] = 0;
        size_t l = strlen(d), sl = strlen(suffix);
        if (l >= sl && strcmp(d + l - sl, suffix) == 0)
            return ids[i];
    }
    fail_msg("no reader ending in \"%s\"", suffix);
    return 0;
}

static bool token_present(CK_SLOT_ID slot)
{
    CK_SLOT_INFO si;
    assert_int_equal(f->C_GetSlotInfo(slot, &si), CKR_OK);
    return (si.flags & CKF_TOKEN_PRESENT) != 0;
}

/* ---- threads through a pull and a reinsertion ---- */

#define WORKERS 4

static CK_SLOT_ID pull_slot;
static atomic_bool stop;

struct worker {
    pthread_t t;
    atomic_long signs;          /* signatures made */
    atomic_long calls;
    CK_RV bad;                  /* the first answer no host could act on */
    const char *bad_call;
};

/* The answers a card pulled and put back may give. Not CKR_DEVICE_ERROR:
 * a transfer cut off by the pull, before pcscd has seen the card go, is
 * still a removal. */
static bool expected(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_ALREADY_LOGGED_IN:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
        return true;
    default:
        return false;
    }
}

static bool check(struct worker *w, const char *call, CK_RV rv)
{
    atomic_fetch_add(&w->calls, 1);
    if (!expected(rv) && !w->bad) {
        w->bad = rv;
        w->bad_call = call;
    }
    return rv == CKR_OK;
}

static void work_once(struct worker *w)
{
    CK_SESSION_HANDLE h;
    if (!check(w, "C_OpenSession",
               f->C_OpenSession(pull_slot, CKF_SERIAL_SESSION, NULL, NULL, &h)))
        return;
    CK_RV rv = f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    if (rv != CKR_USER_ALREADY_LOGGED_IN && !check(w, "C_Login", rv))
        goto out;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) } };
    CK_OBJECT_HANDLE k[4];
    CK_ULONG n = 0;
    if (!check(w, "C_FindObjectsInit", f->C_FindObjectsInit(h, t, 2)))
        goto out;
    bool found = check(w, "C_FindObjects", f->C_FindObjects(h, k, 4, &n));
    check(w, "C_FindObjectsFinal", f->C_FindObjectsFinal(h));
    if (!found || n == 0)
        goto out;
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE data[32] = "data signed by a worker thread", sig[512];
    CK_ULONG len = sizeof(sig);
    if (check(w, "C_SignInit", f->C_SignInit(h, &m, k[0])) &&
        check(w, "C_Sign", f->C_Sign(h, data, sizeof(data), sig, &len)))
        atomic_fetch_add(&w->signs, 1);
out:
    check(w, "C_CloseSession", f->C_CloseSession(h));
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(&stop)) {
        long before = atomic_load(&w->signs);
        work_once(w);
        if (atomic_load(&w->signs) == before)
            msleep(10);         /* the card is away: do not spin */
    }
    return NULL;
}

static atomic_long events;
static CK_RV waiter_end;
static CK_SLOT_ID wrong_slot = (CK_SLOT_ID)-1;

static void *event_waiter(void *arg)
{
    (void)arg;
    for (;;) {
        CK_SLOT_ID s;
        CK_RV rv = f->C_WaitForSlotEvent(0, &s, NULL);
        if (rv != CKR_OK) {
            waiter_end = rv;
            return NULL;
        }
        if (s == pull_slot)
            atomic_fetch_add(&events, 1);
        else
            wrong_slot = s;
    }
}

/* Waits (at most limit_s) until every worker has signed more than it had. */
static bool all_signed_since(struct worker *w, const long *base, double limit_s)
{
    double end = now_s() + limit_s;
    while (now_s() < end) {
        int done = 0;
        for (int i = 0; i < WORKERS; i++)
            done += atomic_load(&w[i].signs) > base[i];
        if (done == WORKERS)
            return true;
        msleep(20);
    }
    return false;
}

static void test_pull_under_threads(void **state)
{
    (void)state;
    NEED_TOKEN();
    const char *control = getenv("VCARD_CONTROL");
    if (!control || !getenv("VCARD"))
        skip();
    pull_slot = slot_of("00 00");
    assert_true(token_present(pull_slot));
    atomic_store(&stop, false);
    atomic_store(&events, 0);
    pthread_t ev;
    assert_int_equal(pthread_create(&ev, NULL, event_waiter, NULL), 0);
    struct worker w[WORKERS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);

    long base[WORKERS];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < WORKERS; i++)
            base[i] = atomic_load(&w[i].signs);
        assert_true(all_signed_since(w, base, 60));
        long ev_before = atomic_load(&events);
        ctl(control, "vanish now");
        /* Gone for the module: the slot shows no token. */
        double end = now_s() + 30;
        while (token_present(pull_slot) && now_s() < end)
            msleep(20);
        assert_false(token_present(pull_slot));
        end = now_s() + 30;
        while (atomic_load(&events) == ev_before && now_s() < end)
            msleep(20);
        assert_true(atomic_load(&events) > ev_before);
        ctl(control, "back");
        for (int i = 0; i < WORKERS; i++)
            base[i] = atomic_load(&w[i].signs);
        assert_true(all_signed_since(w, base, 60));
        printf("round %d: %ld slot events so far\n", round + 1, atomic_load(&events));
    }
    atomic_store(&stop, true);
    int bad = -1;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(w[i].t, NULL);
        printf("worker %d: %ld calls, %ld signatures\n", i, atomic_load(&w[i].calls),
               atomic_load(&w[i].signs));
        if (w[i].bad && bad < 0)
            bad = i;
    }
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    pthread_join(ev, NULL);
    /* Failed only now: the waiter must not outlive the test. */
    if (bad >= 0)
        fail_msg("worker %d: %s answered 0x%lx", bad, w[bad].bad_call,
                 (unsigned long)w[bad].bad);
    assert_int_equal(waiter_end, CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_true(wrong_slot == (CK_SLOT_ID)-1);
    assert_int_equal(init(NULL), 0);
}

/* ---- a mute card ---- */

/* How many APDUs the card behind control left unanswered while muted. */
static long silenced(const char *control)
{
    char cmd[1024], line[512];
    snprintf(cmd, sizeof(cmd), "\"%s\" ctl --control \"%s\" status", getenv("VCARD"), control);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long n = -1;
    if (fgets(line, sizeof(line), p)) {
        const char *at = strstr(line, "silenced=");
        if (at)
            n = strtol(at + strlen("silenced="), NULL, 10);
    }
    pclose(p);
    return n;
}

/* A logged-in session on slot and its RSA private key. */
static CK_SESSION_HANDLE user_session(CK_SLOT_ID slot, CK_OBJECT_HANDLE *key)
{
    CK_SESSION_HANDLE h;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    CK_RV rv = f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) } };
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(h, t, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, key, 1, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    return h;
}

static CK_MECHANISM sha1_rsa = { CKM_SHA1_RSA_PKCS, NULL, 0 };

static CK_RV sign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_BYTE data[20] = "signed beside a mute", sig[512];
    CK_ULONG len = sizeof(sig);
    CK_RV rv = f->C_SignInit(h, &sha1_rsa, key);
    return rv == CKR_OK ? f->C_Sign(h, data, sizeof(data), sig, &len) : rv;
}

struct mute_call {
    CK_SESSION_HANDLE h;
    CK_RV rv;
    double took;
    atomic_bool done;
};

static void *sign_on_mute(void *arg)
{
    struct mute_call *m = arg;
    CK_BYTE data[20] = "the card is mute", sig[512];
    CK_ULONG len = sizeof(sig);
    double t0 = now_s();
    m->rv = f->C_Sign(m->h, data, sizeof(data), sig, &len);
    m->took = now_s() - t0;
    atomic_store(&m->done, true);
    return NULL;
}

static bool in_list(CK_SLOT_ID slot, const CK_SLOT_ID *l, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (l[i] == slot)
            return true;
    return false;
}

static void test_mute_card(void **state)
{
    (void)state;
    NEED_TOKEN();
    const char *c0 = getenv("VCARD_CONTROL"), *c1 = getenv("VCARD_CONTROL1");
    if (!c0 || !c1 || !getenv("VCARD"))
        skip();
    CK_SLOT_ID mute = slot_of("00 00"), other = slot_of("00 01");
    CK_OBJECT_HANDLE km, ko;
    CK_SESSION_HANDLE hm = user_session(mute, &km), ho = user_session(other, &ko);
    assert_int_equal(sign(hm, km), CKR_OK);
    assert_int_equal(sign(ho, ko), CKR_OK);
    /* The key is checked at C_SignInit; C_Sign then only signs. */
    assert_int_equal(f->C_SignInit(hm, &sha1_rsa, km), CKR_OK);
    long before = silenced(c0);
    ctl(c0, "mute");
    struct mute_call m = { .h = hm };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sign_on_mute, &m), 0);
    double end = now_s() + 30;
    while (silenced(c0) <= before && now_s() < end)
        msleep(10);
    assert_true(silenced(c0) > before);         /* the command is in the card */

    /* Everything else answers while that call waits. */
    CK_SLOT_ID l[16];
    CK_ULONG n = 16;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, l, &n), CKR_OK);
    assert_true(in_list(mute, l, n) && in_list(other, l, n));
    assert_true(token_present(mute));
    assert_true(token_present(other));
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(hm, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(f->C_GetSessionInfo(ho, &si), CKR_OK);
    assert_int_equal(sign(ho, ko), CKR_OK);
    CK_OBJECT_HANDLE k2;
    CK_SESSION_HANDLE h2 = user_session(other, &k2);
    assert_int_equal(f->C_CloseSession(h2), CKR_OK);
    /* None of that waited for the mute card: its call is still out. */
    assert_false(atomic_load(&m.done));
    pthread_join(t, NULL);
    printf("C_Sign on the mute card: 0x%lx after %.1f s\n", (unsigned long)m.rv, m.took);
    assert_int_equal(m.rv, CKR_DEVICE_ERROR);

    /* Until the card answers, its calls end at once (no second wait). */
    double t0 = now_s();
    assert_int_equal(f->C_SignInit(hm, &sha1_rsa, km), CKR_DEVICE_ERROR);
    printf("C_SignInit on the stuck card: %.3f s\n", now_s() - t0);
    assert_true(now_s() - t0 < m.took / 2);
    assert_int_equal(f->C_GetSessionInfo(hm, &si), CKR_OK);
    assert_true(token_present(mute));
    assert_int_equal(sign(ho, ko), CKR_OK);

    /* C_Finalize answers with the card still mute; the module works on. */
    t0 = now_s();
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    printf("C_Finalize with the card mute: %.3f s\n", now_s() - t0);
    assert_int_equal(init(NULL), 0);
    ho = user_session(other, &ko);
    assert_int_equal(sign(ho, ko), CKR_OK);
    /* The new module meets the card still stuck (the old command holds its
     * transaction): C_GetSlotInfo answers after one card timeout at most,
     * then at once. */
    CK_SLOT_INFO sl;
    t0 = now_s();
    assert_int_equal(f->C_GetSlotInfo(mute, &sl), CKR_OK);
    printf("C_GetSlotInfo, a new module, the card stuck: %.3f s\n", now_s() - t0);
    t0 = now_s();
    assert_int_equal(f->C_GetSlotInfo(mute, &sl), CKR_OK);
    printf("C_GetSlotInfo again: %.3f s\n", now_s() - t0);
    assert_true(now_s() - t0 < m.took / 2);

    /* Pulled and put back, answering: it signs again. */
    ctl(c0, "vanish now");
    ctl(c0, "clear");
    CK_RV rv = CKR_GENERAL_ERROR, ro = 0, rl = 0, rf = 0;
    CK_ULONG nk = 0;
    int tries = 0;
    end = now_s() + 30;
    while (rv != CKR_OK && now_s() < end) {
        CK_SESSION_HANDLE h;
        tries++;
        nk = 0;
        rl = rf = rv = CKR_GENERAL_ERROR;
        if ((ro = f->C_OpenSession(mute, CKF_SERIAL_SESSION, NULL, NULL, &h)) != CKR_OK) {
            msleep(50);
            continue;
        }
        rl = f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
        if ((rf = f->C_FindObjectsInit(h, &a, 1)) == CKR_OK) {
            f->C_FindObjects(h, &km, 1, &nk);
            f->C_FindObjectsFinal(h);
        }
        rv = nk ? sign(h, km) : CKR_GENERAL_ERROR;
        f->C_CloseSession(h);
        if (rv != CKR_OK)
            msleep(50);
    }
    if (rv != CKR_OK)
        fail_msg("no signature in 30 s after the card came back (%d tries; the last: "
                 "C_OpenSession 0x%lx, C_Login 0x%lx, C_FindObjectsInit 0x%lx, %lu keys, "
                 "C_Sign 0x%lx)", tries, (unsigned long)ro, (unsigned long)rl,
                 (unsigned long)rf, (unsigned long)nk, (unsigned long)rv);

    /* C_Finalize while a call waits for the mute card: the call gives up
     * at once (CKR_DEVICE_ERROR), and C_Finalize answers. */
    hm = user_session(mute, &km);
    assert_int_equal(f->C_SignInit(hm, &sha1_rsa, km), CKR_OK);
    before = silenced(c0);
    ctl(c0, "mute");
    struct mute_call m2 = { .h = hm };
    assert_int_equal(pthread_create(&t, NULL, sign_on_mute, &m2), 0);
    end = now_s() + 30;
    while (silenced(c0) <= before && now_s() < end)
        msleep(10);
    assert_true(silenced(c0) > before);
    t0 = now_s();
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    double fin = now_s() - t0;
    pthread_join(t, NULL);
    printf("C_Finalize during a call on the mute card: %.3f s; the call 0x%lx after %.3f s\n",
           fin, (unsigned long)m2.rv, m2.took);
    assert_int_equal(m2.rv, CKR_DEVICE_ERROR);
    assert_true(fin < m.took / 2 && m2.took < m.took / 2);
    ctl(c0, "vanish now");
    ctl(c0, "clear");
    assert_int_equal(init(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_under_threads, init, fini),
        /* The same with the application's mutexes for the module's locks. */
        cmocka_unit_test_setup_teardown(test_pull_under_threads, init_app_mutexes, fini),
        cmocka_unit_test_setup_teardown(test_mute_card, init, fini),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
