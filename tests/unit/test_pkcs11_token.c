/* test_pkcs11_token.c: the module with a card, as a host uses it. Runs
 * only inside a card sandbox (tests/integration/pkcs11_token.sh sets
 * CARDRENEW_TEST_TOKEN=1, CARDRENEW_MODULE, CARDRENEW_PIN, VCARD_CONTROL
 * and VCARD); elsewhere every test is skipped.
 * Login state shared by sessions, PIN errors, the attribute rules on real
 * objects, the signature length rules, private-key operations refused
 * without login, sensitive attributes, a renewal and a certificate
 * written by another process seen without restart or log-out, the card pulled and put back
 * mid-session, sessions in several threads signing at once, a forked
 * child using the card beside its parent,
 * C_WaitForSlotEvent woken by C_Finalize, and the PIN blocked. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <p11-kit/pkcs11.h>

static void *lib;
static CK_FUNCTION_LIST *f;
static const char *pin;
static CK_SLOT_ID slot;

static void msleep(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Commands sent to the card so far, from this process's APDU trace
 * (CARDRENEW_TEST_APDU_TRACE names it; -1 when there is none). */
static long apdus(void)
{
    const char *path = getenv("CARDRENEW_TEST_APDU_TRACE");
    FILE *t = path ? fopen(path, "r") : NULL;
    if (!t)
        return -1;
    long n = 0;
    char line[4096];
    while (fgets(line, sizeof(line), t))
        if (line[0] == '>')
            n++;
    fclose(t);
    return n;
}

static int setup(void **state)
{
    (void)state;
    const char *m = getenv("CARDRENEW_MODULE");
    pin = getenv("CARDRENEW_PIN");
    if (!getenv("CARDRENEW_TEST_TOKEN") || !m || !pin)
        return 0;
    /* The module reads CARDRENEW_APDU_TRACE once; the processes this
     * test starts (writers, cardrenew) must not add to its trace. */
    const char *trace = getenv("CARDRENEW_TEST_APDU_TRACE");
    if (trace)
        setenv("CARDRENEW_APDU_TRACE", trace, 1);
    lib = dlopen(m, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
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
    if (f->C_Initialize(&a) != CKR_OK)
        return -1;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n < 1)
        return -1;
    slot = slots[0];
    unsetenv("CARDRENEW_APDU_TRACE");       /* opened by now: not for children */
    return 0;
}

static int fini(void **state)
{
    (void)state;
    if (f)
        f->C_Finalize(NULL);
    return 0;
}

#define NEED_TOKEN() do { if (!f) skip(); } while (0)

static CK_SESSION_HANDLE open_rw(void)
{
    CK_SESSION_HANDLE h;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
    return h;
}

static CK_RV login(CK_SESSION_HANDLE h)
{
    return f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
}

static CK_ULONG find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out, CK_ULONG max)
{
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, out, max, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

static CK_ULONG state_of(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_OK);
    return si.state;
}

static void test_login_shared(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE ro, rw = open_rw();
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, 0, NULL, NULL, &ro), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    CK_OBJECT_HANDLE o[16];
    assert_int_equal(find(ro, CKO_PRIVATE_KEY, o, 16), 0);     /* hidden before login */
    /* The SO login exists only where the card has a PUK (profile O): it
     * keeps the PUK for C_InitPIN, shuts the user out meanwhile, and goes
     * with C_Logout. */
    CK_TOKEN_INFO sti;
    assert_int_equal(f->C_GetTokenInfo(slot, &sti), CKR_OK);
    if (memcmp(sti.model, "Series 8", 8) == 0) {
        assert_int_equal(f->C_Login(ro, CKU_SO, (CK_UTF8CHAR *)"12345678", 8),
                         CKR_SESSION_READ_ONLY_EXISTS);
        assert_int_equal(f->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)"12345678", 8), CKR_OK);
        assert_int_equal(state_of(rw), CKS_RW_SO_FUNCTIONS);
        assert_int_equal(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin)),
                         CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
        assert_int_equal(f->C_Logout(rw), CKR_OK);
        assert_int_equal(state_of(rw), CKS_RW_PUBLIC_SESSION);
    } else {
        assert_int_equal(f->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)pin, strlen(pin)), CKR_USER_TYPE_INVALID);
    }
    assert_int_equal(f->C_InitPIN(rw, (CK_UTF8CHAR *)pin, strlen(pin)), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)"12", 2), CKR_PIN_LEN_RANGE);
    assert_int_equal(f->C_Login(rw, CKU_USER, NULL, 6), CKR_ARGUMENTS_BAD);
    /* One wrong PIN: the count is low, then a good one clears it. */
    char wrong[32];
    snprintf(wrong, sizeof(wrong), "%s", pin);
    wrong[0] = wrong[0] == '9' ? '8' : '9';
    assert_int_equal(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)wrong, strlen(wrong)), CKR_PIN_INCORRECT);
    CK_TOKEN_INFO ti;
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(login(rw), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_false(ti.flags & CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(login(ro), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(state_of(ro), CKS_RO_USER_FUNCTIONS);     /* shared by sessions */
    assert_int_equal(state_of(rw), CKS_RW_USER_FUNCTIONS);
    assert_true(find(ro, CKO_PRIVATE_KEY, o, 16) >= 1);
    assert_int_equal(f->C_Logout(ro), CKR_OK);
    assert_int_equal(state_of(rw), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(f->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_CloseAllSessions(slot), CKR_OK);
    assert_int_equal(f->C_GetSessionInfo(rw, NULL), CKR_SESSION_HANDLE_INVALID);
}

static void test_attributes(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16], c[16];
    assert_true(find(h, CKO_PRIVATE_KEY, k, 16) >= 1);
    assert_true(find(h, CKO_CERTIFICATE, c, 16) >= 1);
    /* Everything at once, as PyKCS11 asks: only these codes may come back. */
    static const CK_ATTRIBUTE_TYPE all[] = {
        CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID, CKA_KEY_TYPE, CKA_SUBJECT,
        CKA_SENSITIVE, CKA_DECRYPT, CKA_SIGN, CKA_MODULUS, CKA_PUBLIC_EXPONENT,
        CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_VALUE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE,
        CKA_ALWAYS_SENSITIVE, CKA_ALWAYS_AUTHENTICATE, CKA_EC_PARAMS, CKA_CERTIFICATE_TYPE,
        CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_START_DATE, CKA_END_DATE, CKA_TRUSTED, 0x7fff0003UL,
    };
    CK_ATTRIBUTE t[sizeof(all) / sizeof(all[0])];
    const CK_ULONG n = sizeof(all) / sizeof(all[0]);
    for (int pass = 0; pass < 2; pass++) {
        CK_OBJECT_HANDLE o = pass ? c[0] : k[0];
        for (CK_ULONG i = 0; i < n; i++)
            t[i] = (CK_ATTRIBUTE){ all[i], NULL, 0 };
        CK_RV rv = f->C_GetAttributeValue(h, o, t, n);
        assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
        for (CK_ULONG i = 0; i < n; i++)
            if (t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
                t[i].pValue = malloc(t[i].ulValueLen + 1);
        rv = f->C_GetAttributeValue(h, o, t, n);
        assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
        CK_BBOOL *b;
        if (!pass) {
            assert_int_equal(t[12].ulValueLen, CK_UNAVAILABLE_INFORMATION);    /* private exponent */
            b = t[7].pValue;
            assert_int_equal(*b, CK_TRUE);                                  /* sensitive */
            b = t[15].pValue;
            assert_int_equal(*b, CK_FALSE);                                 /* extractable */
            b = t[18].pValue;
            assert_int_equal(*b, CK_FALSE);                                 /* always authenticate */
        } else {
            assert_true(t[14].ulValueLen > 100);                            /* DER certificate */
            b = t[25].pValue;
            assert_int_equal(*b, CK_FALSE);                                 /* trusted */
        }
        assert_int_equal(t[n - 1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
        for (CK_ULONG i = 0; i < n; i++)
            free(t[i].pValue);
    }
    /* A too-small buffer, and a bogus handle. */
    CK_BYTE one;
    CK_ATTRIBUTE small = { CKA_VALUE, &one, 1 };
    assert_int_equal(f->C_GetAttributeValue(h, c[0], &small, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(small.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(f->C_GetAttributeValue(h, 0xdead, &small, 1), CKR_OBJECT_HANDLE_INVALID);
    /* Handles are stable while the card is unchanged. */
    CK_OBJECT_HANDLE c2[16];
    CK_ULONG nc = find(h, CKO_CERTIFICATE, c2, 16);
    assert_true(nc >= 1);
    assert_int_equal(c2[0], c[0]);
    f->C_CloseSession(h);
}

static void test_sign_lengths(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    CK_OBJECT_HANDLE k[16], pub[16];
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE data[300], sig[512], sig2[512];
    memset(data, 0x5a, sizeof(data));
    assert_int_equal(login(h), CKR_OK);
    CK_ULONG nk = find(h, CKO_PRIVATE_KEY, k, 16);
    assert_true(nk >= 1 && find(h, CKO_PUBLIC_KEY, pub, 16) >= 1);
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, k[0], &ka, 1), CKR_OK);
    if (kt != CKK_RSA)
        skip();
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, NULL), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignInit(h, &m, pub[0]), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OPERATION_ACTIVE);
    CK_ULONG len = 0;
    assert_int_equal(f->C_Sign(h, data, sizeof(data), NULL, &len), CKR_OK);
    assert_true(len == 128 || len == 256);
    CK_ULONG full = len;
    len = 10;
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, full);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, &len), CKR_OK);   /* still active */
    assert_int_equal(len, full);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    /* Multi-part gives the same PKCS#1 v1.5 signature. */
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_SignUpdate(h, data, 100), CKR_OK);
    assert_int_equal(f->C_SignUpdate(h, data + 100, 200), CKR_OK);
    CK_ULONG len2 = sizeof(sig2);
    assert_int_equal(f->C_SignFinal(h, sig2, &len2), CKR_OK);
    assert_int_equal(len2, full);
    assert_memory_equal(sig, sig2, full);
    /* Verification in software, with the public key. */
    assert_int_equal(f->C_VerifyInit(h, &m, pub[0]), CKR_OK);
    assert_int_equal(f->C_Verify(h, data, sizeof(data), sig, full), CKR_OK);
    sig[7] ^= 1;
    assert_int_equal(f->C_VerifyInit(h, &m, pub[0]), CKR_OK);
    assert_int_equal(f->C_Verify(h, data, sizeof(data), sig, full), CKR_SIGNATURE_INVALID);
    assert_int_equal(f->C_VerifyInit(h, &m, pub[0]), CKR_OK);
    assert_int_equal(f->C_Verify(h, data, sizeof(data), sig, full - 1), CKR_SIGNATURE_LEN_RANGE);
    /* A mechanism the card does not have, bad PSS parameters. */
    CK_MECHANISM md5 = { CKM_MD5_RSA_PKCS, NULL, 0 };
    assert_int_equal(f->C_SignInit(h, &md5, k[0]), CKR_MECHANISM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA1, 32 };
    CK_MECHANISM pss = { CKM_RSA_PKCS_PSS, &pp, sizeof(pp) };
    CK_RV rv = f->C_SignInit(h, &pss, k[0]);
    assert_true(rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID);
    f->C_CloseSession(h);
}

/* The key's signing mechanism on both profiles (G signs SHA-1 only). */
static CK_MECHANISM sign_mech(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, key, &ka, 1), CKR_OK);
    return (CK_MECHANISM){ kt == CKK_EC ? CKM_ECDSA_SHA256 : CKM_SHA1_RSA_PKCS, NULL, 0 };
}

/* Private-key operations need the user logged in: C_SignInit and
 * C_DecryptInit answer CKR_USER_NOT_LOGGED_IN after C_Logout and in a
 * session that never logged in, with a key handle found while logged in;
 * an operation begun before C_Logout ends at its next call, length
 * queries included, with CKR_KEY_HANDLE_INVALID (the key is hidden). */
static void test_login_required(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16];
    assert_true(find(h, CKO_PRIVATE_KEY, k, 16) >= 1);
    CK_MECHANISM sm = sign_mech(h, k[0]);
    CK_MECHANISM dm = { CKM_RSA_PKCS, NULL, 0 };
    CK_BYTE data[32], out[512];
    memset(data, 0x3c, sizeof(data));
    CK_ULONG len = 0;
    /* Deciphering where the key and profile allow it (not G's 2048-bit keys). */
    bool decrypts = f->C_DecryptInit(h, &dm, k[0]) == CKR_OK;
    if (decrypts)
        assert_int_equal(f->C_Decrypt(h, data, 1, out, &len), CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(f->C_Logout(h), CKR_OK);
    assert_int_equal(f->C_SignInit(h, &sm, k[0]), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_DecryptInit(h, &dm, k[0]), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), out, &len), CKR_OPERATION_NOT_INITIALIZED);

    assert_int_equal(f->C_CloseAllSessions(slot), CKR_OK);
    CK_SESSION_HANDLE ro;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(state_of(ro), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(f->C_SignInit(ro, &sm, k[0]), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_DecryptInit(ro, &dm, k[0]), CKR_USER_NOT_LOGGED_IN);
    CK_OBJECT_HANDLE none[16];
    assert_int_equal(find(ro, CKO_PRIVATE_KEY, none, 16), 0);
    f->C_CloseSession(ro);

    /* Begun while logged in: neither a signature nor its length after C_Logout. */
    h = open_rw();
    for (int query = 0; query < 2; query++) {
        assert_int_equal(login(h), CKR_OK);
        assert_int_equal(f->C_SignInit(h, &sm, k[0]), CKR_OK);
        assert_int_equal(f->C_Logout(h), CKR_OK);
        len = sizeof(out);
        assert_int_equal(f->C_Sign(h, data, sizeof(data), query ? NULL : out, &len),
                         CKR_KEY_HANDLE_INVALID);
        assert_int_equal(f->C_Sign(h, data, sizeof(data), out, &len), CKR_OPERATION_NOT_INITIALIZED);
        if (!decrypts)
            continue;
        assert_int_equal(login(h), CKR_OK);
        assert_int_equal(f->C_DecryptInit(h, &dm, k[0]), CKR_OK);
        assert_int_equal(f->C_Logout(h), CKR_OK);
        len = sizeof(out);
        assert_int_equal(f->C_Decrypt(h, out, sizeof(out), query ? NULL : out, &len),
                         CKR_KEY_HANDLE_INVALID);
        assert_int_equal(f->C_Decrypt(h, out, sizeof(out), out, &len),
                         CKR_OPERATION_NOT_INITIALIZED);
    }
    f->C_CloseSession(h);
}

/* A private key's secret parts (RSA CKA_PRIVATE_EXPONENT and the CRT
 * values, EC CKA_VALUE) answer CKR_ATTRIBUTE_SENSITIVE with
 * CK_UNAVAILABLE_INFORMATION and leave the caller's buffer untouched,
 * while the other attributes of the same template are filled. */
static void test_sensitive_attributes(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16];
    CK_ULONG nk = find(h, CKO_PRIVATE_KEY, k, 16);
    assert_true(nk >= 1);
    for (CK_ULONG i = 0; i < nk; i++) {
        CK_KEY_TYPE kt;
        CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
        assert_int_equal(f->C_GetAttributeValue(h, k[i], &ka, 1), CKR_OK);
        static const CK_ATTRIBUTE_TYPE rsa_secret[] = { CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                                        CKA_PRIME_2, CKA_EXPONENT_1,
                                                        CKA_EXPONENT_2, CKA_COEFFICIENT };
        static const CK_ATTRIBUTE_TYPE ec_secret[] = { CKA_VALUE };
        const CK_ATTRIBUTE_TYPE *secret = kt == CKK_EC ? ec_secret : rsa_secret;
        size_t nsecret = kt == CKK_EC ? 1 : sizeof(rsa_secret) / sizeof(rsa_secret[0]);
        for (size_t j = 0; j < nsecret; j++) {
            CK_OBJECT_CLASS cls = 0;
            CK_BBOOL sign = CK_FALSE;
            CK_BYTE id[64], val[1024], pub[1024];
            memset(val, 0xA5, sizeof(val));
            CK_ATTRIBUTE t[] = {
                { CKA_CLASS, &cls, sizeof(cls) },
                { secret[j], val, sizeof(val) },
                { CKA_ID, id, sizeof(id) },
                { kt == CKK_EC ? CKA_EC_PARAMS : CKA_MODULUS, pub, sizeof(pub) },
                { CKA_SIGN, &sign, sizeof(sign) },
            };
            assert_int_equal(f->C_GetAttributeValue(h, k[i], t, 5), CKR_ATTRIBUTE_SENSITIVE);
            assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
            for (size_t b = 0; b < sizeof(val); b++)
                assert_int_equal(val[b], 0xA5);
            assert_int_equal(cls, CKO_PRIVATE_KEY);
            assert_int_equal(t[2].ulValueLen, 20);                  /* SHA-1 CKA_ID */
            assert_true(t[3].ulValueLen > 8 && t[3].ulValueLen <= sizeof(pub));
            assert_int_equal(sign, CK_TRUE);
            /* Asked alone, for its length: the same answer. */
            CK_ATTRIBUTE q = { secret[j], NULL, 0 };
            assert_int_equal(f->C_GetAttributeValue(h, k[i], &q, 1), CKR_ATTRIBUTE_SENSITIVE);
            assert_int_equal(q.ulValueLen, CK_UNAVAILABLE_INFORMATION);
        }
    }
    f->C_CloseSession(h);
}

/* Another process makes a key and writes its certificate: this process
 * sees the certificate at its next call, still logged in. */
static void test_other_process(void **state)
{
    (void)state;
    NEED_TOKEN();
    const char *vc = getenv("CARDRENEW_TEST_WRITER");
    if (!vc)
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE c[32];
    CK_ULONG before = find(h, CKO_CERTIFICATE, c, 32);
    assert_int_equal(system(vc), 0);
    CK_ULONG after = find(h, CKO_CERTIFICATE, c, 32);
    assert_int_equal(after, before + 1);
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);
    CK_OBJECT_HANDLE k[32];
    assert_true(find(h, CKO_PRIVATE_KEY, k, 32) >= 2);
    f->C_CloseSession(h);
}

/* A renewal by another process (cardrenew) under a logged-in session:
 * the new certificate replaces the old at the next call, and the session
 * stays logged in and signs with the new key. */
static void test_renewed_underneath(void **state)
{
    (void)state;
    NEED_TOKEN();
    const char *renew = getenv("CARDRENEW_TEST_RENEW");
    if (!renew)
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE c[8], k[8];
    assert_int_equal(find(h, CKO_CERTIFICATE, c, 8), 1);
    CK_BYTE old[4096], neu[4096];
    CK_ATTRIBUTE v = { CKA_VALUE, old, sizeof(old) };
    assert_int_equal(f->C_GetAttributeValue(h, c[0], &v, 1), CKR_OK);
    CK_ULONG oldlen = v.ulValueLen;
    assert_int_equal(system(renew), 0);
    assert_int_equal(find(h, CKO_CERTIFICATE, c, 8), 1);
    v = (CK_ATTRIBUTE){ CKA_VALUE, neu, sizeof(neu) };
    assert_int_equal(f->C_GetAttributeValue(h, c[0], &v, 1), CKR_OK);
    assert_false(v.ulValueLen == oldlen && memcmp(old, neu, oldlen) == 0);
    /* The session from before the renewal ends when its state is asked
     * (how NSS learns to read the token again); the login is the
     * card's, so a new session is logged in and signs with the new key. */
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_FindObjectsInit(h, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);
    assert_int_equal(login(h), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(find(h, CKO_PRIVATE_KEY, k, 8), 1);
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, k[0], &ka, 1), CKR_OK);
    CK_MECHANISM m = { kt == CKK_EC ? CKM_ECDSA_SHA256 : CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE sig[512];
    CK_ULONG len = sizeof(sig);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Sign(h, old, 32, sig, &len), CKR_OK);
    f->C_CloseSession(h);
}

/* A host's poll (NSS: C_GetSlotInfo, then C_GetSessionInfo on its
 * default session, each at most once a second) sends the card nothing
 * while nothing changed; neither does C_GetSlotList. */
static void test_poll_costs_nothing(void **state)
{
    (void)state;
    NEED_TOKEN();
    if (apdus() < 0)
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE o[16];
    assert_true(find(h, CKO_CERTIFICATE, o, 16) >= 1);
    long before = apdus();
    assert_true(before > 0);
    const int polls = 20;
    for (int i = 0; i < polls; i++) {
        CK_SLOT_INFO sl;
        assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
        assert_true(sl.flags & CKF_TOKEN_PRESENT);
    }
    long after_slot = apdus();
    for (int i = 0; i < polls; i++)
        assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);
    long after_session = apdus();
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    assert_true(n >= 1);
    printf("APDUs per C_GetSlotInfo poll: %ld; per C_GetSessionInfo poll: %ld; "
           "C_GetSlotList: %ld\n", (after_slot - before) / polls,
           (after_session - after_slot) / polls, apdus() - after_session);
    assert_int_equal(after_slot, before);
    assert_int_equal(after_session, before);
    assert_int_equal(apdus(), before);
    f->C_CloseSession(h);
}

/* Another process changes the card. Through this module, it leaves a
 * change notice: an idle host's next poll ends its older sessions, still
 * with no APDU. Without the notice (another middleware, another user),
 * searches answer from the cache, with no APDU, until the card is reset,
 * leaves the reader, or this process logs in again: then the counter is
 * read and the objects with it. */
static void test_change_seen_by_poll(void **state)
{
    (void)state;
    NEED_TOKEN();
    const char *add = getenv("CARDRENEW_TEST_WRITER");
    const char *del = getenv("CARDRENEW_TEST_REMOVER");
    if (!add || !del || apdus() < 0)
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE c[32];
    CK_ULONG n0 = find(h, CKO_CERTIFICATE, c, 32);
    assert_true(n0 >= 2);
    /* Unannounced: a notice directory this process does not look in. */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "XDG_RUNTIME_DIR=\"$CARDRENEW_SANDBOX/elsewhere\" %s", del);
    assert_int_equal(system("mkdir -p -m 700 \"$CARDRENEW_SANDBOX/elsewhere\""), 0);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);      /* not seen */
    long quiet = apdus();
    assert_int_equal(find(h, CKO_CERTIFICATE, c, 32), n0);      /* the cache */
    assert_int_equal(apdus(), quiet);
    assert_int_equal(f->C_Logout(h), CKR_OK);
    assert_int_equal(login(h), CKR_OK);
    assert_int_equal(find(h, CKO_CERTIFICATE, c, 32), n0 - 1);  /* read again */
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);
    /* Announced: the poll alone sees it. */
    assert_int_equal(system(add), 0);
    long before = apdus();
    CK_SLOT_INFO sl;
    assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
    assert_true(sl.flags & CKF_TOKEN_PRESENT);
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(apdus(), before);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);     /* no new login */
    assert_int_equal(find(h, CKO_CERTIFICATE, c, 32), n0);
    f->C_CloseSession(h);
}

/* Slot ids are the reader's: one got before C_Finalize works after the
 * next C_Initialize with no C_GetSlotList. */
static void test_slot_id_stable(void **state)
{
    (void)state;
    NEED_TOKEN();
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(f->C_Initialize(&a), CKR_OK);
    CK_SLOT_INFO sl;
    assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
    assert_true(sl.flags & CKF_TOKEN_PRESENT);
    CK_SESSION_HANDLE h;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    assert_int_equal(f->C_CloseSession(h), CKR_OK);
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    assert_true(n >= 1);
    assert_int_equal(ids[0], slot);
    assert_int_equal(f->C_GetSlotInfo((CK_SLOT_ID)15, &sl), CKR_SLOT_ID_INVALID);
}

static void ctl(const char *cmd)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "\"$VCARD\" ctl --control \"$VCARD_CONTROL\" %s >/dev/null", cmd);
    assert_int_equal(system(buf), 0);
}

struct insert_wait {
    CK_RV rv;
    CK_SLOT_ID slot;
};

static void *insert_waiter(void *arg)
{
    struct insert_wait *w = arg;
    w->rv = f->C_WaitForSlotEvent(0, &w->slot, NULL);
    return NULL;
}

static void test_pulled_and_back(void **state)
{
    (void)state;
    NEED_TOKEN();
    if (!getenv("VCARD") || !getenv("VCARD_CONTROL"))
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_SLOT_ID ev;
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
    ctl("vanish 0");
    /* The next call that reaches the card finds it gone. */
    CK_OBJECT_HANDLE o[16];
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_RV rv = CKR_OK;
    for (int i = 0; i < 50 && rv != CKR_DEVICE_REMOVED && rv != CKR_SESSION_HANDLE_INVALID; i++) {
        rv = f->C_FindObjectsInit(h, &t, 1);
        if (rv == CKR_OK) {
            CK_ULONG n;
            f->C_FindObjects(h, o, 16, &n);
            f->C_FindObjectsFinal(h);
        }
        if (rv != CKR_DEVICE_REMOVED)
            msleep(100);
    }
    assert_int_equal(rv, CKR_DEVICE_REMOVED);
    CK_SESSION_INFO si;
    assert_int_equal(f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    CK_SLOT_INFO sl;
    int absent = 0;
    for (int i = 0; i < 50 && !absent; i++) {
        assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
        absent = !(sl.flags & CKF_TOKEN_PRESENT);
        if (!absent)
            msleep(100);
    }
    assert_true(absent);
    rv = CKR_NO_EVENT;
    for (int i = 0; i < 50 && rv == CKR_NO_EVENT; i++) {
        rv = f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL);
        if (rv == CKR_NO_EVENT)
            msleep(100);
    }
    assert_int_equal(rv, CKR_OK);
    assert_int_equal(ev, slot);
    /* A blocking wait sees the card come back. */
    struct insert_wait w = { CKR_GENERAL_ERROR, (CK_SLOT_ID)-1 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, insert_waiter, &w), 0);
    msleep(200);
    ctl("back");
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    assert_int_equal(pthread_timedjoin_np(th, NULL, &until), 0);
    assert_int_equal(w.rv, CKR_OK);
    assert_int_equal(w.slot, slot);
    int present = 0;
    for (int i = 0; i < 50 && !present; i++) {
        assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
        present = (sl.flags & CKF_TOKEN_PRESENT) != 0;
        if (!present)
            msleep(100);
    }
    assert_true(present);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_PUBLIC_SESSION);      /* the login went with the card */
    assert_int_equal(login(h), CKR_OK);
    assert_true(find(h, CKO_PRIVATE_KEY, o, 16) >= 1);
    f->C_CloseSession(h);
}

/* Pulled with the host only polling: the session's next
 * C_GetSessionInfo ends it and C_GetSlotInfo says the token is absent
 * (both with no APDU); put back, the token's flags ask for a PIN the
 * usual way, one login and the card signs again. */
static void test_pulled_polls(void **state)
{
    (void)state;
    NEED_TOKEN();
    if (!getenv("VCARD") || !getenv("VCARD_CONTROL"))
        skip();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    long before = apdus();
    ctl("vanish now");
    CK_SESSION_INFO si;
    CK_RV rv = CKR_OK;
    for (int i = 0; i < 50 && rv == CKR_OK; i++) {
        rv = f->C_GetSessionInfo(h, &si);
        if (rv == CKR_OK) {
            assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);
            msleep(100);        /* pcscd looks at its readers every 400 ms */
        }
    }
    assert_int_equal(rv, CKR_SESSION_HANDLE_INVALID);
    CK_SLOT_INFO sl;
    assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
    assert_false(sl.flags & CKF_TOKEN_PRESENT);
    if (before >= 0)
        assert_int_equal(apdus(), before);
    CK_TOKEN_INFO ti;
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
    ctl("back");
    int present = 0;
    for (int i = 0; i < 50 && !present; i++) {
        assert_int_equal(f->C_GetSlotInfo(slot, &sl), CKR_OK);
        present = (sl.flags & CKF_TOKEN_PRESENT) != 0;
        if (!present)
            msleep(100);
    }
    assert_true(present);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    assert_true(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_false(ti.flags & (CKF_PROTECTED_AUTHENTICATION_PATH | CKF_USER_PIN_LOCKED));
    assert_true(ti.ulMinPinLen > 0);
    h = open_rw();
    assert_int_equal(state_of(h), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"", 0), CKR_PIN_LEN_RANGE);
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16];
    assert_true(find(h, CKO_PRIVATE_KEY, k, 16) >= 1);
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, k[0], &ka, 1), CKR_OK);
    CK_MECHANISM m = { kt == CKK_EC ? CKM_ECDSA_SHA256 : CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE sig[512];
    CK_ULONG len = sizeof(sig);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Sign(h, (CK_BYTE *)"back", 4, sig, &len), CKR_OK);
    f->C_CloseSession(h);
}

static CK_OBJECT_HANDLE shared_key, shared_pub;

static void *signer(void *arg)
{
    (void)arg;
    CK_SESSION_HANDLE h;
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE data[64], sig[512];
    memset(data, 7, sizeof(data));
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
        return (void *)1;
    for (int i = 0; i < 5; i++) {
        CK_ULONG len = sizeof(sig);
        if (f->C_SignInit(h, &m, shared_key) != CKR_OK ||
            f->C_Sign(h, data, sizeof(data), sig, &len) != CKR_OK ||
            f->C_VerifyInit(h, &m, shared_pub) != CKR_OK ||
            f->C_Verify(h, data, sizeof(data), sig, len) != CKR_OK)
            return (void *)2;
    }
    return f->C_CloseSession(h) == CKR_OK ? NULL : (void *)3;
}

/* Sessions in several threads sign at once; the login is the token's. */
static void test_threads(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16], pub[16];
    CK_ULONG nk = find(h, CKO_PRIVATE_KEY, k, 16), np = find(h, CKO_PUBLIC_KEY, pub, 16);
    shared_key = 0;
    for (CK_ULONG i = 0; i < nk && !shared_key; i++) {
        CK_KEY_TYPE kt;
        CK_BYTE id[64], pid[64];
        CK_ATTRIBUTE a[2] = { { CKA_KEY_TYPE, &kt, sizeof(kt) }, { CKA_ID, id, sizeof(id) } };
        assert_int_equal(f->C_GetAttributeValue(h, k[i], a, 2), CKR_OK);
        if (kt != CKK_RSA)
            continue;
        for (CK_ULONG j = 0; j < np; j++) {
            CK_ATTRIBUTE b = { CKA_ID, pid, sizeof(pid) };
            assert_int_equal(f->C_GetAttributeValue(h, pub[j], &b, 1), CKR_OK);
            if (b.ulValueLen == a[1].ulValueLen && !memcmp(id, pid, b.ulValueLen)) {
                shared_key = k[i];
                shared_pub = pub[j];
            }
        }
    }
    assert_true(shared_key != 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, signer, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    f->C_CloseSession(h);
}

/* A forked child uses the card through its own C_Initialize; the
 * parent's session, login and PC/SC handles are untouched. */
static void test_fork(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[16];
    assert_true(find(h, CKO_PRIVATE_KEY, k, 16) >= 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        CK_SESSION_HANDLE ch;
        CK_ULONG n = 0;
        int bad = 0;
        bad |= f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ch) != CKR_CRYPTOKI_NOT_INITIALIZED;
        bad |= (f->C_Initialize(NULL) != CKR_OK) << 1;
        bad |= (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n < 1) << 2;
        bad |= (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ch) != CKR_OK) << 3;
        CK_SESSION_INFO si;
        bad |= (f->C_GetSessionInfo(ch, &si) != CKR_OK || si.state != CKS_RO_PUBLIC_SESSION) << 4;
        /* The parent's session is not the child's (numbers may repeat). */
        bad |= (h != ch && f->C_GetSessionInfo(h, &si) != CKR_SESSION_HANDLE_INVALID) << 5;
        bad |= (f->C_Login(ch, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin)) != CKR_OK) << 6;
        bad |= (f->C_Finalize(NULL) != CKR_OK) << 7;
        _exit(bad);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The parent carries on: still logged in, still signing. */
    assert_int_equal(state_of(h), CKS_RW_USER_FUNCTIONS);
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, k[0], &ka, 1), CKR_OK);
    if (kt == CKK_EC)
        m.mechanism = CKM_ECDSA_SHA256;
    CK_BYTE sig[512];
    CK_ULONG len = sizeof(sig);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Sign(h, (CK_BYTE *)"data", 4, sig, &len), CKR_OK);
    f->C_CloseSession(h);
}

static void *waiter(void *arg)
{
    CK_SLOT_ID s;
    *(CK_RV *)arg = f->C_WaitForSlotEvent(0, &s, NULL);
    return NULL;
}

static void test_wait_woken_by_finalize(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_RV got = 0xffff;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter, &got), 0);
    msleep(300);
    assert_int_equal(got, 0xffff);              /* still blocked */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    pthread_join(t, NULL);
    assert_int_equal(got, CKR_CRYPTOKI_NOT_INITIALIZED);
    init(NULL);
}

static void test_set_pin(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE ro, rw = open_rw();
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    const char *neu = "24681357";
    CK_ULONG pl = strlen(pin), nl = strlen(neu);
    assert_int_equal(f->C_SetPIN(ro, (CK_UTF8CHAR *)pin, pl, (CK_UTF8CHAR *)neu, nl), CKR_SESSION_READ_ONLY);
    assert_int_equal(f->C_SetPIN(rw, (CK_UTF8CHAR *)pin, pl, (CK_UTF8CHAR *)"1", 1), CKR_PIN_LEN_RANGE);
    CK_RV rv = f->C_SetPIN(rw, (CK_UTF8CHAR *)pin, pl, (CK_UTF8CHAR *)neu, nl);
    if (rv == CKR_FUNCTION_NOT_SUPPORTED)
        skip();
    assert_int_equal(rv, CKR_OK);
    assert_int_equal(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)neu, nl), CKR_OK);
    assert_int_equal(f->C_SetPIN(rw, (CK_UTF8CHAR *)neu, nl, (CK_UTF8CHAR *)pin, pl), CKR_OK);
    assert_int_equal(f->C_Logout(rw), CKR_OK);
    assert_int_equal(login(rw), CKR_OK);
    f->C_CloseAllSessions(slot);
}

/* An NHS identity agent's way in: the first slot, a read-write session,
 * login, the private key with CKA_DECRYPT, then by its CKA_ID the
 * certificate (value, label, subject) and the public key, and a
 * CKM_SHA1_RSA_PKCS signature over the challenge. */
static void test_identity_agent(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY, cc = CKO_CERTIFICATE, pub = CKO_PUBLIC_KEY;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t1[] = { { CKA_CLASS, &pk, sizeof(pk) }, { CKA_DECRYPT, &yes, 1 } };
    CK_OBJECT_HANDLE key, obj;
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(h, t1, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, &key, 1, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    CK_BYTE id[64];
    CK_ATTRIBUTE ida = { CKA_ID, id, sizeof(id) };
    assert_int_equal(f->C_GetAttributeValue(h, key, &ida, 1), CKR_OK);
    CK_ATTRIBUTE t2[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_ID, id, ida.ulValueLen } };
    assert_int_equal(f->C_FindObjectsInit(h, t2, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, &obj, 1, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    CK_ATTRIBUTE ca[] = { { CKA_VALUE, NULL, 0 }, { CKA_LABEL, NULL, 0 }, { CKA_SUBJECT, NULL, 0 } };
    assert_int_equal(f->C_GetAttributeValue(h, obj, ca, 3), CKR_OK);
    assert_true(ca[0].ulValueLen > 100 && ca[1].ulValueLen > 0 && ca[2].ulValueLen > 2);
    CK_ATTRIBUTE t3[] = { { CKA_CLASS, &pub, sizeof(pub) }, { CKA_ID, id, ida.ulValueLen } };
    assert_int_equal(f->C_FindObjectsInit(h, t3, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, &obj, 1, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE sig[512];
    CK_ULONG len = sizeof(sig);
    assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Sign(h, (CK_BYTE *)"challenge", 9, sig, &len), CKR_OK);
    assert_int_equal(f->C_VerifyInit(h, &m, obj), CKR_OK);
    assert_int_equal(f->C_Verify(h, (CK_BYTE *)"challenge", 9, sig, len), CKR_OK);
    f->C_CloseSession(h);
}

/* Bad arguments get CKR_ARGUMENTS_BAD (or the spec's code), never a crash. */
static void test_bad_args(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    assert_int_equal(login(h), CKR_OK);
    CK_OBJECT_HANDLE k[4], c[4], hp, hv;
    assert_true(find(h, CKO_PRIVATE_KEY, k, 4) >= 1);
    assert_true(find(h, CKO_CERTIFICATE, c, 4) >= 1);
    CK_ULONG n;
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
    assert_int_equal(f->C_GetAttributeValue(h, k[0], &ka, 1), CKR_OK);
    if (kt == CKK_EC)
        m.mechanism = CKM_ECDSA;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetSessionInfo(h, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetSlotInfo(slot, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetTokenInfo(slot, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetMechanismList(slot, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_MD5, &(CK_MECHANISM_INFO){ 0 }), CKR_MECHANISM_INVALID);
    assert_int_equal(f->C_GetAttributeValue(h, c[0], NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetObjectSize(h, c[0], NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_FindObjects(h, k, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_FindObjectsInit(h, NULL, 0), CKR_OK);
    assert_int_equal(f->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
    assert_int_equal(f->C_FindObjects(h, NULL, 4, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_FindObjects(h, k, 4, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignInit(h, NULL, k[0]), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_SignInit(h, &m, c[0]), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Sign(h, (CK_BYTE *)"x", 1, NULL, NULL), CKR_ARGUMENTS_BAD);  /* ends it */
    assert_int_equal(f->C_SignFinal(h, NULL, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Sign(h, NULL, 5, NULL, &n), CKR_ARGUMENTS_BAD);   /* ends it */
    assert_int_equal(f->C_SignFinal(h, NULL, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_VerifyInit(h, &m, k[0]), CKR_OK);
    assert_int_equal(f->C_Verify(h, (CK_BYTE *)"x", 1, NULL, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_DecryptInit(h, NULL, k[0]), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GenerateKeyPair(h, NULL, NULL, 0, NULL, 0, &hp, &hv), CKR_ARGUMENTS_BAD);
    CK_MECHANISM kg = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tok[] = { { CKA_TOKEN, &yes, 1 } };
    /* No CKA_TOKEN: session keys, which the card cannot make. */
    assert_int_equal(f->C_GenerateKeyPair(h, &kg, NULL, 0, NULL, 0, &hp, &hv), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(f->C_GenerateKeyPair(h, &kg, tok, 1, tok, 1, &hp, &hv), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(f->C_GenerateKeyPair(h, &kg, NULL, 0, NULL, 0, NULL, &hv), CKR_ARGUMENTS_BAD);
    CK_ULONG bits = 512;
    CK_ATTRIBUTE small[] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) }, { CKA_TOKEN, &yes, 1 } };
    assert_int_equal(f->C_GenerateKeyPair(h, &kg, small, 2, tok, 1, &hp, &hv), CKR_KEY_SIZE_RANGE);
    CK_MECHANISM eckg = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    static const CK_BYTE p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
    CK_ATTRIBUTE ec384[] = { { CKA_EC_PARAMS, (void *)p384, sizeof(p384) }, { CKA_TOKEN, &yes, 1 } };
    CK_RV rv = f->C_GenerateKeyPair(h, &eckg, ec384, 2, tok, 1, &hp, &hv);
    assert_true(rv == CKR_CURVE_NOT_SUPPORTED || rv == CKR_MECHANISM_INVALID);
    assert_int_equal(f->C_CreateObject(h, NULL, 1, &hp), CKR_ARGUMENTS_BAD);
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE dt[] = { { CKA_CLASS, &data, sizeof(data) } };
    assert_int_equal(f->C_CreateObject(h, dt, 1, &hp), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(f->C_DestroyObject(h, 0xdead), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(f->C_CopyObject(h, c[0], NULL, 0, &hp), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(f->C_EncryptInit(h, &m, k[0]), CKR_FUNCTION_NOT_SUPPORTED);
    f->C_CloseSession(h);
}

/* Last, as it blocks the card: the PIN counter as token flags. */
static void test_pin_lock(void **state)
{
    (void)state;
    NEED_TOKEN();
    CK_SESSION_HANDLE h = open_rw();
    char wrong[32];
    snprintf(wrong, sizeof(wrong), "%s", pin);
    wrong[0] = wrong[0] == '9' ? '8' : '9';
    CK_TOKEN_INFO ti;
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)wrong, strlen(wrong)), CKR_PIN_INCORRECT);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
    assert_false(ti.flags & (CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED));
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)wrong, strlen(wrong)), CKR_PIN_INCORRECT);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_FINAL_TRY);
    CK_RV rv = f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)wrong, strlen(wrong));
    assert_true(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_LOCKED);
    assert_int_equal(login(h), CKR_PIN_LOCKED);
    assert_int_equal(state_of(h), CKS_RW_PUBLIC_SESSION);
    f->C_CloseSession(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_shared, init, fini),
        cmocka_unit_test_setup_teardown(test_poll_costs_nothing, init, fini),
        cmocka_unit_test_setup_teardown(test_attributes, init, fini),
        cmocka_unit_test_setup_teardown(test_identity_agent, init, fini),
        cmocka_unit_test_setup_teardown(test_sign_lengths, init, fini),
        cmocka_unit_test_setup_teardown(test_login_required, init, fini),
        cmocka_unit_test_setup_teardown(test_sensitive_attributes, init, fini),
        cmocka_unit_test_setup_teardown(test_threads, init, fini),
        cmocka_unit_test_setup_teardown(test_fork, init, fini),
        cmocka_unit_test_setup_teardown(test_renewed_underneath, init, fini),
        cmocka_unit_test_setup_teardown(test_other_process, init, fini),
        cmocka_unit_test_setup_teardown(test_change_seen_by_poll, init, fini),
        cmocka_unit_test_setup_teardown(test_pulled_and_back, init, fini),
        cmocka_unit_test_setup_teardown(test_pulled_polls, init, fini),
        cmocka_unit_test_setup_teardown(test_slot_id_stable, init, fini),
        cmocka_unit_test_setup_teardown(test_wait_woken_by_finalize, init, fini),
        cmocka_unit_test_setup_teardown(test_bad_args, init, fini),
        cmocka_unit_test_setup_teardown(test_set_pin, init, fini),
        cmocka_unit_test_setup_teardown(test_pin_lock, init, fini),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
