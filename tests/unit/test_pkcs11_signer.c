/* test_pkcs11_signer.c: a long-lived host, as an identity agent is: it
 * logs in once and signs every second while, in other processes, the
 * card is renewed (cardrenew --renew) and then pulled and put back. Runs
 * only inside tests/integration/pkcs11_signer.sh (CARDRENEW_TEST_SIGNER=1,
 * CARDRENEW_MODULE, CARDRENEW_PIN, CARDRENEW_TEST_RENEW, VCARD and
 * VCARD_CONTROL); elsewhere it is skipped.
 *
 * The signer does what a well-behaved host does and no more: it polls
 * C_GetSessionInfo before each signature; a session that ended is
 * replaced, and C_Login is called only when the new session is not
 * logged in; a key handle that went away is looked up again by its
 * certificate's CKA_ID. The test asserts that every signature during the
 * renewal succeeds (and verifies) with no second login, that afterwards
 * the signer uses the new certificate's key, and that after the card
 * came back one login brings signing back. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <p11-kit/pkcs11.h>

extern char **environ;

static CK_FUNCTION_LIST *f;
static void *lib;

struct signer {
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key, pub;
    unsigned char cert[4096];
    CK_ULONG cert_len;
    int logins;             /* C_Login calls that logged in */
    int reopened;           /* sessions replaced after one ended */
};

static void msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void ctl(const char *cmd)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "\"$VCARD\" ctl --control \"$VCARD_CONTROL\" %s >/dev/null", cmd);
    assert_int_equal(system(buf), 0);
}

static CK_RV find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const void *id, CK_ULONG idlen,
                      CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, (void *)id, idlen } };
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(h, t, id ? 2 : 1);
    if (rv != CKR_OK)
        return rv;
    rv = f->C_FindObjects(h, out, 1, &n);
    f->C_FindObjectsFinal(h);
    return rv != CKR_OK ? rv : n == 1 ? CKR_OK : CKR_KEY_HANDLE_INVALID;
}

/* The certificate, then its key pair by CKA_ID: how an agent finds its
 * login key. */
static CK_RV find_credential(struct signer *s)
{
    CK_OBJECT_HANDLE c;
    CK_RV rv = find_one(s->h, CKO_CERTIFICATE, NULL, 0, &c);
    if (rv != CKR_OK)
        return rv;
    unsigned char id[64];
    CK_ATTRIBUTE a[2] = { { CKA_ID, id, sizeof(id) }, { CKA_VALUE, s->cert, sizeof(s->cert) } };
    if ((rv = f->C_GetAttributeValue(s->h, c, a, 2)) != CKR_OK)
        return rv;
    s->cert_len = a[1].ulValueLen;
    if ((rv = find_one(s->h, CKO_PRIVATE_KEY, id, a[0].ulValueLen, &s->key)) != CKR_OK)
        return rv;
    return find_one(s->h, CKO_PUBLIC_KEY, id, a[0].ulValueLen, &s->pub);
}

/* A session that is there and logged in; C_Login only when needed. */
static CK_RV ensure_session(struct signer *s)
{
    CK_SESSION_INFO si;
    CK_RV rv = s->h ? f->C_GetSessionInfo(s->h, &si) : CKR_SESSION_HANDLE_INVALID;
    if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED) {
        if (s->h)
            s->reopened++;
        s->h = 0;
        s->key = 0;
        rv = f->C_OpenSession(s->slot, CKF_SERIAL_SESSION, NULL, NULL, &s->h);
        if (rv != CKR_OK) {
            s->h = 0;
            return rv;
        }
        rv = f->C_GetSessionInfo(s->h, &si);
    }
    if (rv != CKR_OK)
        return rv;
    if (si.state != CKS_RO_USER_FUNCTIONS) {
        const char *pin = getenv("CARDRENEW_PIN");
        rv = f->C_Login(s->h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
        if (rv != CKR_OK)
            return rv;
        s->logins++;
    }
    return CKR_OK;
}

static CK_RV sign_once(struct signer *s)
{
    CK_RV rv = ensure_session(s);
    if (rv != CKR_OK)
        return rv;
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    unsigned char data[32], sig[512];
    memset(data, 0x42, sizeof(data));
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->key && (rv = find_credential(s)) != CKR_OK)
            return rv;
        rv = f->C_SignInit(s->h, &m, s->key);
        if (rv == CKR_KEY_HANDLE_INVALID) {
            s->key = 0;         /* the key went (a renewal retired it) */
            continue;
        }
        if (rv != CKR_OK)
            return rv;
        CK_ULONG len = sizeof(sig);
        if ((rv = f->C_Sign(s->h, data, sizeof(data), sig, &len)) != CKR_OK)
            return rv;
        if ((rv = f->C_VerifyInit(s->h, &m, s->pub)) != CKR_OK)
            return rv;
        return f->C_Verify(s->h, data, sizeof(data), sig, len);
    }
    return rv;
}

static int setup(void **state)
{
    (void)state;
    const char *m = getenv("CARDRENEW_MODULE");
    if (!getenv("CARDRENEW_TEST_SIGNER") || !m || !getenv("CARDRENEW_PIN"))
        return 0;
    lib = dlopen(m, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList gfl = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (!gfl || gfl(&f) != CKR_OK)
        return -1;
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.flags = CKF_OS_LOCKING_OK;
    return f->C_Initialize(&a) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (f)
        f->C_Finalize(NULL);
    if (lib)
        dlclose(lib);
    return 0;
}

static void test_signer_through_renewal_and_reinsertion(void **state)
{
    (void)state;
    const char *renew = getenv("CARDRENEW_TEST_RENEW");
    if (!f || !renew || !getenv("VCARD") || !getenv("VCARD_CONTROL"))
        skip();
    long period = getenv("CARDRENEW_TEST_PERIOD_MS") ? atol(getenv("CARDRENEW_TEST_PERIOD_MS")) : 1000;
    struct signer s = { 0 };
    CK_ULONG n = 1;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, &s.slot, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sign_once(&s), CKR_OK);
    assert_int_equal(s.logins, 1);
    unsigned char old[4096];
    CK_ULONG oldlen = s.cert_len;
    memcpy(old, s.cert, oldlen);

    /* The renewal in another process; a signature every period meanwhile. */
    pid_t pid;
    char *argv[] = { "sh", "-c", (char *)renew, NULL };
    assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
    int st = 0, during = 0;
    for (;;) {
        CK_RV rv = sign_once(&s);
        printf("signer: during the renewal: %s\n", rv == CKR_OK ? "signed" : "FAILED");
        assert_int_equal(rv, CKR_OK);
        during++;
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        msleep(period);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Two more periods: the new certificate is the one in use. */
    for (int i = 0; i < 2; i++) {
        msleep(period);
        assert_int_equal(sign_once(&s), CKR_OK);
    }
    assert_int_equal(find_credential(&s), CKR_OK);
    assert_false(s.cert_len == oldlen && memcmp(s.cert, old, oldlen) == 0);
    assert_int_equal(sign_once(&s), CKR_OK);
    assert_int_equal(s.logins, 1);          /* no PIN asked again */
    printf("signer: %d signatures during the renewal, the new certificate in use, "
           "%d session(s) replaced, 1 login\n", during, s.reopened);

    /* Pulled: once PC/SC has seen it go (pcscd looks every 400 ms; a card
     * back sooner was never away for it), signatures fail. */
    ctl("vanish now");
    int absent = 0;
    for (int i = 0; i < 50 && !absent; i++) {
        msleep(100);
        CK_SLOT_INFO si;
        assert_int_equal(f->C_GetSlotInfo(s.slot, &si), CKR_OK);
        absent = !(si.flags & CKF_TOKEN_PRESENT);
    }
    assert_true(absent);
    assert_int_not_equal(sign_once(&s), CKR_OK);
    ctl("back");
    CK_RV rv = CKR_TOKEN_NOT_PRESENT;
    for (int i = 0; i < 40 && rv != CKR_OK; i++) {
        msleep(period / 4);
        rv = sign_once(&s);
    }
    assert_int_equal(rv, CKR_OK);
    assert_int_equal(s.logins, 2);          /* one login after the card came back */
    for (int i = 0; i < 2; i++) {
        msleep(period);
        assert_int_equal(sign_once(&s), CKR_OK);
    }
    assert_int_equal(s.logins, 2);
    printf("signer: put back: signing again after one login\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signer_through_renewal_and_reinsertion),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
