/* test_pkcs11_conform.c: the module against PKCS#11's rules, the whole
 * stack (pkcs11/ over card/) with the virtual card of each profile in
 * this process (inproc_card.h), no pcscd:
 * - return-value priorities for every C_* function: not initialised
 *   first, then the session handle (PKCS#11 2.40 5.1.8: session-handle
 *   errors before the general ones), then NULL pointers as
 *   CKR_ARGUMENTS_BAD;
 * - template rules: fixed-size values with the wrong length, NULL values
 *   with a length, duplicates, unknown and read-only attributes;
 * - C_GenerateKeyPair refuses what the card cannot honour, and writes
 *   nothing then; C_CreateObject refuses a certificate the card's own
 *   reader would not read back, before writing;
 * - a failed call ends its operation (C_Sign/C_SignFinal/C_Decrypt/
 *   C_Verify with NULL length pointers);
 * - CKM_ECDSA signs input of any length; a bad cryptogram is
 *   CKR_ENCRYPTED_DATA_INVALID; G's decryption limit is advertised and a
 *   key past it is CKR_KEY_SIZE_RANGE; C_GenerateRandom/C_SeedRandom. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>

#include "tests/unit/inproc_card.h"
#include "card/card.h"
#include "card/x509.h"

/* The module's PC/SC is the card in this process. */
const struct pcsc_ops *card_pcsc_default(void)
{
    return &ic_ops;
}

static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static int up(const struct vc_profile *p, const char *keytype)
{
    if (ic_new(p, keytype) != 0)
        return -1;
    if (C_GetFunctionList(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK)
        return -1;
    CK_ULONG n = 1;
    return f->C_GetSlotList(CK_TRUE, &slot, &n) == CKR_OK && n == 1 ? 0 : -1;
}
static int up_o(void **state) { (void)state; return up(&vc_profile_o, "p256"); }
static int up_g(void **state) { (void)state; return up(&vc_profile_g, "rsa1024"); }
static int up_g2048(void **state) { (void)state; return up(&vc_profile_g, "rsa2048"); }

static int down(void **state)
{
    (void)state;
    f->C_Finalize(NULL);
    ic_free();
    return 0;
}

static CK_SESSION_HANDLE logged_in(void)
{
    CK_SESSION_HANDLE h;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)IC_PIN, strlen(IC_PIN)), CKR_OK);
    return h;
}

static CK_OBJECT_HANDLE first(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, &o, 1, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    return o;
}

static CK_ULONG count(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_OBJECT_HANDLE o[16];
    CK_ULONG n = 0;
    assert_int_equal(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(f->C_FindObjects(h, o, 16, &n), CKR_OK);
    assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* A key's public half as OpenSSL sees it. */
static EVP_PKEY *pubkey_of(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    uint8_t der[1024];
    CK_ATTRIBUTE a = { CKA_PUBLIC_KEY_INFO, der, sizeof(der) };
    assert_int_equal(f->C_GetAttributeValue(h, k, &a, 1), CKR_OK);
    const uint8_t *p = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)a.ulValueLen);
    assert_non_null(pk);
    return pk;
}

/* ---- return-value priorities, every function ---- */

enum kind { GLOBAL, SLOT, SESSION };
enum impl { DONE, STUB, LEGACY };   /* implemented, not supported, not parallel */

static const struct fn {
    const char *name;
    enum kind kind;
    enum impl impl;
} fns[] = {
    { "C_Finalize", GLOBAL, DONE },         { "C_GetInfo", GLOBAL, DONE },
    { "C_GetSlotList", GLOBAL, DONE },      { "C_GetSlotInfo", SLOT, DONE },
    { "C_GetTokenInfo", SLOT, DONE },       { "C_GetMechanismList", SLOT, DONE },
    { "C_GetMechanismInfo", SLOT, DONE },   { "C_InitToken", SLOT, STUB },
    { "C_InitPIN", SESSION, DONE },         { "C_SetPIN", SESSION, DONE },
    { "C_OpenSession", SLOT, DONE },        { "C_CloseSession", SESSION, DONE },
    { "C_CloseAllSessions", SLOT, DONE },   { "C_GetSessionInfo", SESSION, DONE },
    { "C_GetOperationState", SESSION, STUB }, { "C_SetOperationState", SESSION, STUB },
    { "C_Login", SESSION, DONE },           { "C_Logout", SESSION, DONE },
    { "C_CreateObject", SESSION, DONE },    { "C_CopyObject", SESSION, STUB },
    { "C_DestroyObject", SESSION, DONE },   { "C_GetObjectSize", SESSION, DONE },
    { "C_GetAttributeValue", SESSION, DONE }, { "C_SetAttributeValue", SESSION, DONE },
    { "C_FindObjectsInit", SESSION, DONE }, { "C_FindObjects", SESSION, DONE },
    { "C_FindObjectsFinal", SESSION, DONE }, { "C_EncryptInit", SESSION, STUB },
    { "C_Encrypt", SESSION, STUB },         { "C_EncryptUpdate", SESSION, STUB },
    { "C_EncryptFinal", SESSION, STUB },    { "C_DecryptInit", SESSION, DONE },
    { "C_Decrypt", SESSION, DONE },         { "C_DecryptUpdate", SESSION, STUB },
    { "C_DecryptFinal", SESSION, STUB },    { "C_DigestInit", SESSION, STUB },
    { "C_Digest", SESSION, STUB },          { "C_DigestUpdate", SESSION, STUB },
    { "C_DigestKey", SESSION, STUB },       { "C_DigestFinal", SESSION, STUB },
    { "C_SignInit", SESSION, DONE },        { "C_Sign", SESSION, DONE },
    { "C_SignUpdate", SESSION, DONE },      { "C_SignFinal", SESSION, DONE },
    { "C_SignRecoverInit", SESSION, STUB }, { "C_SignRecover", SESSION, STUB },
    { "C_VerifyInit", SESSION, DONE },      { "C_Verify", SESSION, DONE },
    { "C_VerifyUpdate", SESSION, DONE },    { "C_VerifyFinal", SESSION, DONE },
    { "C_VerifyRecoverInit", SESSION, STUB }, { "C_VerifyRecover", SESSION, STUB },
    { "C_DigestEncryptUpdate", SESSION, STUB }, { "C_DecryptDigestUpdate", SESSION, STUB },
    { "C_SignEncryptUpdate", SESSION, STUB }, { "C_DecryptVerifyUpdate", SESSION, STUB },
    { "C_GenerateKey", SESSION, STUB },     { "C_GenerateKeyPair", SESSION, DONE },
    { "C_WrapKey", SESSION, STUB },         { "C_UnwrapKey", SESSION, STUB },
    { "C_DeriveKey", SESSION, STUB },       { "C_SeedRandom", SESSION, DONE },
    { "C_GenerateRandom", SESSION, DONE },  { "C_GetFunctionStatus", SESSION, LEGACY },
    { "C_CancelFunction", SESSION, LEGACY }, { "C_WaitForSlotEvent", GLOBAL, DONE },
};
#define NFNS (sizeof(fns) / sizeof(fns[0]))

/* Calls function i with NULL for every pointer and zero lengths, on
 * session h or slot id. */
static CK_RV call(size_t i, CK_SESSION_HANDLE h, CK_SLOT_ID id)
{
    switch (i) {
    case 0: return f->C_Finalize(NULL);
    case 1: return f->C_GetInfo(NULL);
    case 2: return f->C_GetSlotList(CK_FALSE, NULL, NULL);
    case 3: return f->C_GetSlotInfo(id, NULL);
    case 4: return f->C_GetTokenInfo(id, NULL);
    case 5: return f->C_GetMechanismList(id, NULL, NULL);
    case 6: return f->C_GetMechanismInfo(id, CKM_RSA_PKCS, NULL);
    case 7: return f->C_InitToken(id, NULL, 0, NULL);
    case 8: return f->C_InitPIN(h, NULL, 6);
    case 9: return f->C_SetPIN(h, NULL, 6, NULL, 6);
    case 10: return f->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, NULL);
    case 11: return f->C_CloseSession(h);
    case 12: return f->C_CloseAllSessions(id);
    case 13: return f->C_GetSessionInfo(h, NULL);
    case 14: return f->C_GetOperationState(h, NULL, NULL);
    case 15: return f->C_SetOperationState(h, NULL, 0, 0, 0);
    case 16: return f->C_Login(h, CKU_USER, NULL, 6);
    case 17: return f->C_Logout(h);
    case 18: return f->C_CreateObject(h, NULL, 1, NULL);
    case 19: return f->C_CopyObject(h, 1, NULL, 1, NULL);
    case 20: return f->C_DestroyObject(h, 0);
    case 21: return f->C_GetObjectSize(h, 1, NULL);
    case 22: return f->C_GetAttributeValue(h, 1, NULL, 1);
    case 23: return f->C_SetAttributeValue(h, 1, NULL, 1);
    case 24: return f->C_FindObjectsInit(h, NULL, 1);
    case 25: return f->C_FindObjects(h, NULL, 1, NULL);
    case 26: return f->C_FindObjectsFinal(h);
    case 27: return f->C_EncryptInit(h, NULL, 1);
    case 28: return f->C_Encrypt(h, NULL, 1, NULL, NULL);
    case 29: return f->C_EncryptUpdate(h, NULL, 1, NULL, NULL);
    case 30: return f->C_EncryptFinal(h, NULL, NULL);
    case 31: return f->C_DecryptInit(h, NULL, 1);
    case 32: return f->C_Decrypt(h, NULL, 1, NULL, NULL);
    case 33: return f->C_DecryptUpdate(h, NULL, 1, NULL, NULL);
    case 34: return f->C_DecryptFinal(h, NULL, NULL);
    case 35: return f->C_DigestInit(h, NULL);
    case 36: return f->C_Digest(h, NULL, 1, NULL, NULL);
    case 37: return f->C_DigestUpdate(h, NULL, 1);
    case 38: return f->C_DigestKey(h, 1);
    case 39: return f->C_DigestFinal(h, NULL, NULL);
    case 40: return f->C_SignInit(h, NULL, 1);
    case 41: return f->C_Sign(h, NULL, 1, NULL, NULL);
    case 42: return f->C_SignUpdate(h, NULL, 1);
    case 43: return f->C_SignFinal(h, NULL, NULL);
    case 44: return f->C_SignRecoverInit(h, NULL, 1);
    case 45: return f->C_SignRecover(h, NULL, 1, NULL, NULL);
    case 46: return f->C_VerifyInit(h, NULL, 1);
    case 47: return f->C_Verify(h, NULL, 1, NULL, 1);
    case 48: return f->C_VerifyUpdate(h, NULL, 1);
    case 49: return f->C_VerifyFinal(h, NULL, 1);
    case 50: return f->C_VerifyRecoverInit(h, NULL, 1);
    case 51: return f->C_VerifyRecover(h, NULL, 1, NULL, NULL);
    case 52: return f->C_DigestEncryptUpdate(h, NULL, 1, NULL, NULL);
    case 53: return f->C_DecryptDigestUpdate(h, NULL, 1, NULL, NULL);
    case 54: return f->C_SignEncryptUpdate(h, NULL, 1, NULL, NULL);
    case 55: return f->C_DecryptVerifyUpdate(h, NULL, 1, NULL, NULL);
    case 56: return f->C_GenerateKey(h, NULL, NULL, 1, NULL);
    case 57: return f->C_GenerateKeyPair(h, NULL, NULL, 1, NULL, 1, NULL, NULL);
    case 58: return f->C_WrapKey(h, NULL, 1, 1, NULL, NULL);
    case 59: return f->C_UnwrapKey(h, NULL, 1, NULL, 1, NULL, 1, NULL);
    case 60: return f->C_DeriveKey(h, NULL, 1, NULL, 1, NULL);
    case 61: return f->C_SeedRandom(h, NULL, 1);
    case 62: return f->C_GenerateRandom(h, NULL, 1);
    case 63: return f->C_GetFunctionStatus(h);
    case 64: return f->C_CancelFunction(h);
    case 65: return f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL);
    default: fail_msg("no function %zu", i);
    }
    return CKR_GENERAL_ERROR;
}

static void test_not_initialized_first(void **state)
{
    (void)state;
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    for (size_t i = 0; i < NFNS; i++) {
        CK_RV rv = call(i, 1, slot);
        if (rv != CKR_CRYPTOKI_NOT_INITIALIZED)
            fail_msg("%s before C_Initialize: 0x%lx", fns[i].name, (unsigned long)rv);
    }
    /* C_Initialize's and C_Finalize's own argument rules. */
    CK_C_INITIALIZE_ARGS a = { 0 };
    a.pReserved = &a;
    assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.pReserved = NULL;
    a.CreateMutex = (CK_CREATEMUTEX)1;      /* some callbacks, not all */
    assert_int_equal(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(f->C_Finalize(&a), CKR_ARGUMENTS_BAD);
}

/* The PKCS#11 3.0 interface: its own functions by the same rules. */
typedef struct {
    CK_UTF8CHAR *name;
    void *list;
    CK_FLAGS flags;
} iface_t;
CK_RV C_GetInterfaceList(iface_t *l, CK_ULONG *n);
CK_RV C_GetInterface(CK_UTF8CHAR *name, CK_VERSION *v, iface_t **out, CK_FLAGS flags);
typedef struct {
    CK_FUNCTION_LIST l;         /* the 2.40 functions, in order */
    CK_RV (*GetInterfaceList)(iface_t *, CK_ULONG *);
    CK_RV (*GetInterface)(CK_UTF8CHAR *, CK_VERSION *, iface_t **, CK_FLAGS);
    CK_RV (*LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR *, CK_ULONG,
                       CK_UTF8CHAR *, CK_ULONG);
    CK_RV (*SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
    CK_RV (*MessageEncryptInit)(CK_SESSION_HANDLE, CK_MECHANISM *, CK_OBJECT_HANDLE);
} list30_t;

static void test_interface_3_0(void **state)
{
    (void)state;
    assert_int_equal(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    CK_VERSION v3 = { 3, 0 };
    assert_int_equal(C_GetInterface((CK_UTF8CHAR *)"PKCS 11", &v3, NULL, 0), CKR_ARGUMENTS_BAD);
    iface_t *i = NULL;
    assert_int_equal(C_GetInterface((CK_UTF8CHAR *)"PKCS 11", &v3, &i, 0), CKR_OK);
    list30_t *l = i->list;
    assert_int_equal(l->l.version.major, 3);
    CK_SESSION_HANDLE h = logged_in();
    assert_int_equal(l->LoginUser(0xbad5e55, CKU_USER, NULL, 6, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_Logout(h), CKR_OK);
    assert_int_equal(l->LoginUser(h, CKU_USER, NULL, 6, NULL, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(l->LoginUser(h, CKU_USER, (CK_UTF8CHAR *)IC_PIN, 6, NULL, 0), CKR_OK);
    assert_int_equal(l->SessionCancel(h, 0), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(l->MessageEncryptInit(h, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(l->l.C_Finalize(NULL), CKR_OK);
    assert_int_equal(l->LoginUser(h, CKU_USER, NULL, 6, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(l->SessionCancel(h, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(l->MessageEncryptInit(h, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_INFO info;
    assert_int_equal(l->l.C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(l->l.C_Initialize(NULL), CKR_OK);
}

/* An invalid session handle comes before bad arguments (and before
 * CKR_RANDOM_NO_RNG); an invalid slot likewise. */
static void test_handles_before_arguments(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFNS; i++) {
        if (fns[i].kind == GLOBAL)
            continue;
        CK_RV rv = call(i, 0xbad5e55, 0xbad5107);
        CK_RV want = fns[i].kind == SESSION ? CKR_SESSION_HANDLE_INVALID : CKR_SLOT_ID_INVALID;
        bool ok = rv == want || (fns[i].impl == STUB && rv == CKR_FUNCTION_NOT_SUPPORTED) ||
                  (fns[i].impl == LEGACY && rv == CKR_FUNCTION_NOT_PARALLEL);
        if (!ok)
            fail_msg("%s with an invalid handle: 0x%lx", fns[i].name, (unsigned long)rv);
    }
}

/* With a valid session and slot, NULL pointers are CKR_ARGUMENTS_BAD for
 * every function the module implements; the others are stubs. */
static void test_null_pointers(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE key = first(h, CKO_PRIVATE_KEY);
    (void)key;
    for (size_t i = 0; i < NFNS; i++) {
        CK_RV rv;
        switch (i) {
        case 0:     /* C_Finalize(NULL) succeeds; its argument is checked above */
        case 11: case 12: case 17: case 26: case 63: case 64:
            continue;   /* no pointer to get wrong */
        case 8:     /* C_InitPIN: the SO's, who cannot log in here */
            continue;
        case 20:    /* C_DestroyObject: a handle, no pointer */
            continue;
        case 16:    /* C_Login: from a logged-out session */
            assert_int_equal(f->C_Logout(h), CKR_OK);
            rv = call(i, h, slot);
            assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)IC_PIN, strlen(IC_PIN)),
                             CKR_OK);
            break;
        case 25:    /* C_FindObjects needs an active search */
            assert_int_equal(f->C_FindObjectsInit(h, NULL, 0), CKR_OK);
            rv = call(i, h, slot);
            assert_int_equal(f->C_FindObjectsFinal(h), CKR_OK);
            break;
        default:
            rv = call(i, h, slot);
            break;
        }
        CK_RV want = fns[i].impl == STUB ? CKR_FUNCTION_NOT_SUPPORTED : CKR_ARGUMENTS_BAD;
        if (fns[i].impl == LEGACY)
            want = CKR_FUNCTION_NOT_PARALLEL;
        /* A sign/verify/decrypt call with no operation active says so. */
        if (rv == CKR_OPERATION_NOT_INITIALIZED && (i == 32 || i == 41 || i == 42 || i == 43 ||
                                                    i == 47 || i == 48 || i == 49))
            continue;
        if (rv != want)
            fail_msg("%s with NULL pointers: 0x%lx, expected 0x%lx", fns[i].name,
                     (unsigned long)rv, (unsigned long)want);
    }
    /* The random functions, once the arguments are good. */
    CK_BYTE buf[8];
    assert_int_equal(f->C_GenerateRandom(h, buf, sizeof(buf)), CKR_RANDOM_NO_RNG);
    assert_int_equal(f->C_SeedRandom(h, buf, sizeof(buf)), CKR_RANDOM_NO_RNG);
    f->C_CloseSession(h);
}

/* A failed call ends its operation; a length query and
 * CKR_BUFFER_TOO_SMALL do not (PKCS#11: C_Sign, C_Decrypt, C_Verify). */
static void test_failure_ends_operation(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE key = first(h, CKO_PRIVATE_KEY), pub = first(h, CKO_PUBLIC_KEY);
    CK_MECHANISM m = { CKM_SHA1_RSA_PKCS, NULL, 0 };
    CK_BYTE data[20] = { 1 }, sig[256];
    CK_ULONG len = 0;
    assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), NULL, &len), CKR_OK);     /* a query */
    len = 1;
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), NULL, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_SignUpdate(h, data, sizeof(data)), CKR_OK);
    assert_int_equal(f->C_SignFinal(h, sig, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);
    len = sizeof(sig);
    assert_int_equal(f->C_Sign(h, data, sizeof(data), sig, &len), CKR_OK);
    assert_int_equal(f->C_VerifyInit(h, &m, pub), CKR_OK);
    assert_int_equal(f->C_Verify(h, data, sizeof(data), NULL, len), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_VerifyInit(h, &m, pub), CKR_OK);
    assert_int_equal(f->C_VerifyUpdate(h, data, sizeof(data)), CKR_OK);
    assert_int_equal(f->C_VerifyFinal(h, NULL, len), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_VerifyInit(h, &m, pub), CKR_OK);
    assert_int_equal(f->C_Verify(h, data, sizeof(data), sig, len), CKR_OK);
    CK_MECHANISM rsa = { CKM_RSA_PKCS, NULL, 0 };
    CK_BYTE ct[128] = { 0 };
    assert_int_equal(f->C_DecryptInit(h, &rsa, key), CKR_OK);
    assert_int_equal(f->C_Decrypt(h, ct, sizeof(ct), sig, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_DecryptInit(h, &rsa, key), CKR_OK);
    f->C_CloseSession(h);
}

/* ---- templates ---- */

static void test_template_rules(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE cert = first(h, CKO_CERTIFICATE), key = first(h, CKO_PRIVATE_KEY);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    uint32_t four = CKO_CERTIFICATE;
    CK_ULONG big = 1;
    uint8_t der[] = { 0x30, 0x00 };
    size_t before = ic.napdu;
    /* Wrong lengths for CK_ULONG and CK_BBOOL, a NULL value with a
     * length, an unknown type, a duplicate. */
    CK_ATTRIBUTE ulong_len[] = { { CKA_CLASS, &four, sizeof(four) },
                                 { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                                 { CKA_VALUE, der, sizeof(der) } };
    assert_int_equal(f->C_CreateObject(h, ulong_len, 3, &cert), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE bool_len[] = { { CKA_CLASS, &cc, sizeof(cc) },
                                { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                                { CKA_TOKEN, &big, sizeof(big) },
                                { CKA_VALUE, der, sizeof(der) } };
    assert_int_equal(f->C_CreateObject(h, bool_len, 4, &cert), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_BBOOL two = 2;
    CK_ATTRIBUTE bool_val[] = { { CKA_CLASS, &cc, sizeof(cc) },
                                { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                                { CKA_TOKEN, &two, 1 },
                                { CKA_VALUE, der, sizeof(der) } };
    assert_int_equal(f->C_CreateObject(h, bool_val, 4, &cert), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE null_val[] = { { CKA_CLASS, &cc, sizeof(cc) },
                                { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                                { CKA_VALUE, NULL, 300 } };
    assert_int_equal(f->C_CreateObject(h, null_val, 3, &cert), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE unknown[] = { { CKA_CLASS, &cc, sizeof(cc) },
                               { CKA_VENDOR_DEFINED + 77, der, sizeof(der) } };
    assert_int_equal(f->C_CreateObject(h, unknown, 2, &cert), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE dup[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_CLASS, &cc, sizeof(cc) } };
    assert_int_equal(f->C_CreateObject(h, dup, 2, &cert), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE incomplete[] = { { CKA_CLASS, &cc, sizeof(cc) },
                                  { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) } };
    assert_int_equal(f->C_CreateObject(h, incomplete, 2, &cert), CKR_TEMPLATE_INCOMPLETE);
    /* The same rules in C_SetAttributeValue, and a read-only attribute. */
    assert_int_equal(f->C_SetAttributeValue(h, cert, ulong_len, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(f->C_SetAttributeValue(h, cert, &bool_len[2], 1), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(f->C_SetAttributeValue(h, cert, null_val + 2, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(f->C_SetAttributeValue(h, cert, dup, 2), CKR_TEMPLATE_INCONSISTENT);
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE cls[] = { { CKA_CLASS, &data, sizeof(data) } };
    assert_int_equal(f->C_SetAttributeValue(h, key, cls, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE sens[] = { { CKA_SENSITIVE, &no, 1 } };
    assert_int_equal(f->C_SetAttributeValue(h, key, sens, 1), CKR_ATTRIBUTE_READ_ONLY);
    /* C_GetAttributeValue: a NULL value with a length is a length query. */
    CK_ATTRIBUTE q = { CKA_VALUE, NULL, 5 };
    assert_int_equal(f->C_GetAttributeValue(h, cert, &q, 1), CKR_OK);
    assert_true(q.ulValueLen > 100);
    /* A search template: a NULL value with a length is refused. */
    CK_ATTRIBUTE fq = { CKA_LABEL, NULL, 5 };
    assert_int_equal(f->C_FindObjectsInit(h, &fq, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(ic_writes_since(before), 0);
    f->C_CloseSession(h);
}

/* ---- C_GenerateKeyPair: nothing the card cannot honour ---- */

static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

static CK_RV keygen_ec(CK_SESSION_HANDLE h, CK_ATTRIBUTE *pub, CK_ULONG npub,
                       CK_ATTRIBUTE *priv, CK_ULONG npriv, CK_OBJECT_HANDLE *hp, CK_OBJECT_HANDLE *hv)
{
    CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    return f->C_GenerateKeyPair(h, &m, pub, npub, priv, npriv, hp, hv);
}

static void test_keygen_template(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE hp, hv;
    CK_ULONG keys = count(h, CKO_PRIVATE_KEY);
    size_t before = ic.napdu;
    /* No CKA_TOKEN asks for session keys (its default is false). */
    CK_ATTRIBUTE pub[4] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                            { CKA_VERIFY, &yes, 1 } };
    CK_ATTRIBUTE priv[4] = { { CKA_SIGN, &yes, 1 } };
    assert_int_equal(keygen_ec(h, pub, 2, priv, 1, &hp, &hv), CKR_TEMPLATE_INCONSISTENT);
    pub[2] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, 1 };
    assert_int_equal(keygen_ec(h, pub, 3, priv, 1, &hp, &hv), CKR_TEMPLATE_INCONSISTENT);
    priv[1] = (CK_ATTRIBUTE){ CKA_TOKEN, &no, 1 };
    assert_int_equal(keygen_ec(h, pub, 3, priv, 2, &hp, &hv), CKR_TEMPLATE_INCONSISTENT);
    priv[1] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, 1 };
    /* Attributes the key would not have as asked. */
    static const struct { bool pub; CK_ATTRIBUTE_TYPE type; CK_BBOOL *val; CK_RV rv; } bad[] = {
        { false, CKA_PRIVATE, &no, CKR_TEMPLATE_INCONSISTENT },
        { true, CKA_WRAP, &yes, CKR_TEMPLATE_INCONSISTENT },
        { true, CKA_DERIVE, &yes, CKR_TEMPLATE_INCONSISTENT },
        { false, CKA_DERIVE, &yes, CKR_TEMPLATE_INCONSISTENT },
        { false, CKA_DECRYPT, &yes, CKR_TEMPLATE_INCONSISTENT },   /* an EC key */
        { false, CKA_EXTRACTABLE, &yes, CKR_TEMPLATE_INCONSISTENT },
        { false, CKA_SENSITIVE, &no, CKR_TEMPLATE_INCONSISTENT },
        { false, CKA_UNWRAP, &yes, CKR_TEMPLATE_INCONSISTENT },
        { true, CKA_PRIVATE, &yes, CKR_TEMPLATE_INCONSISTENT },
        { true, CKA_MODIFIABLE, &yes, CKR_TEMPLATE_INCONSISTENT },
        { false, CKA_LOCAL, &yes, CKR_ATTRIBUTE_READ_ONLY },
        { false, CKA_NEVER_EXTRACTABLE, &yes, CKR_ATTRIBUTE_READ_ONLY },
        { true, CKA_EC_POINT, &yes, CKR_ATTRIBUTE_READ_ONLY },
        { true, CKA_APPLICATION, &yes, CKR_ATTRIBUTE_TYPE_INVALID },     /* a data object's */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CK_ATTRIBUTE *t = bad[i].pub ? pub : priv;
        CK_ULONG n = bad[i].pub ? 3 : 2;
        t[n] = (CK_ATTRIBUTE){ bad[i].type, bad[i].val, 1 };
        CK_RV rv = keygen_ec(h, pub, bad[i].pub ? 4 : 3, priv, bad[i].pub ? 2 : 3, &hp, &hv);
        if (rv != bad[i].rv)
            fail_msg("attribute 0x%lx %s in the %s template: 0x%lx", (unsigned long)bad[i].type,
                     *bad[i].val ? "true" : "false", bad[i].pub ? "public" : "private",
                     (unsigned long)rv);
    }
    /* Malformed: a CK_BBOOL of the wrong size, a NULL value with a
     * length, a duplicate. */
    CK_ULONG wide = CK_TRUE;
    priv[2] = (CK_ATTRIBUTE){ CKA_SIGN, &wide, sizeof(wide) };
    assert_int_equal(keygen_ec(h, pub, 3, priv, 3, &hp, &hv), CKR_ATTRIBUTE_VALUE_INVALID);
    priv[2] = (CK_ATTRIBUTE){ CKA_LABEL, NULL, 4 };
    assert_int_equal(keygen_ec(h, pub, 3, priv, 3, &hp, &hv), CKR_ATTRIBUTE_VALUE_INVALID);
    priv[2] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, 1 };
    assert_int_equal(keygen_ec(h, pub, 3, priv, 3, &hp, &hv), CKR_TEMPLATE_INCONSISTENT);
    /* Nothing was generated or written for any of them. */
    assert_int_equal(ic_writes_since(before), 0);
    assert_int_equal(count(h, CKO_PRIVATE_KEY), keys);
    /* What the card makes, asked for in full (pkcs11-tool --usage-sign,
     * cardrenew): made, and the objects say what was asked. */
    CK_OBJECT_CLASS pk = CKO_PUBLIC_KEY, vk = CKO_PRIVATE_KEY;
    CK_KEY_TYPE ec = CKK_EC;
    CK_ATTRIBUTE good_pub[] = {
        { CKA_CLASS, &pk, sizeof(pk) }, { CKA_KEY_TYPE, &ec, sizeof(ec) },
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 }, { CKA_VERIFY, &yes, 1 },
        { CKA_ENCRYPT, &no, 1 }, { CKA_WRAP, &no, 1 }, { CKA_LABEL, "new", 3 },
        { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
    };
    CK_ATTRIBUTE good_priv[] = {
        { CKA_CLASS, &vk, sizeof(vk) }, { CKA_KEY_TYPE, &ec, sizeof(ec) },
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
        { CKA_EXTRACTABLE, &no, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_DECRYPT, &no, 1 },
        { CKA_ID, "tmp", 3 }, { CKA_LABEL, "new", 3 },
    };
    assert_int_equal(keygen_ec(h, good_pub, sizeof(good_pub) / sizeof(good_pub[0]), good_priv,
                               sizeof(good_priv) / sizeof(good_priv[0]), &hp, &hv), CKR_OK);
    assert_int_equal(count(h, CKO_PRIVATE_KEY), keys + 1);
    for (size_t i = 2; i < 7; i++) {
        CK_BBOOL b = 0xff;
        CK_ATTRIBUTE a = { good_priv[i].type, &b, 1 };
        assert_int_equal(f->C_GetAttributeValue(h, hv, &a, 1), CKR_OK);
        assert_int_equal(b, *(CK_BBOOL *)good_priv[i].pValue);
        a = (CK_ATTRIBUTE){ good_pub[i].type, &b, 1 };
        assert_int_equal(f->C_GetAttributeValue(h, hp, &a, 1), CKR_OK);
        assert_int_equal(b, *(CK_BBOOL *)good_pub[i].pValue);
    }
    f->C_CloseSession(h);
}

/* ---- C_CreateObject: what the card's reader would not read back ---- */

/* A certificate for pub, signed by a throwaway CA. */
static uint8_t *cert_for(EVP_PKEY *pub, size_t *len)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(ca);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 99);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"New Key", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Throwaway CA", -1, -1, 0);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int l = i2d_X509(x, &der);
    assert_true(l > 0 && l < 1000);
    uint8_t *out = malloc((size_t)l + 2);
    assert_non_null(out);
    memcpy(out, der, (size_t)l);
    *len = (size_t)l;
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(ca);
    return out;
}

static CK_RV create_cert(CK_SESSION_HANDLE h, const uint8_t *der, size_t len, CK_OBJECT_HANDLE *o)
{
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cc, sizeof(cc) },
                         { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
                         { CKA_TOKEN, &yes, 1 },
                         { CKA_VALUE, (void *)der, len } };
    return f->C_CreateObject(h, t, 4, o);
}

static void test_create_cert_readable(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE hp, hv, o;
    CK_ATTRIBUTE pub[] = { { CKA_TOKEN, &yes, 1 }, { CKA_EC_PARAMS, (void *)p256, sizeof(p256) } };
    CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, 1 } };
    assert_int_equal(keygen_ec(h, pub, 2, priv, 1, &hp, &hv), CKR_OK);
    EVP_PKEY *pk = pubkey_of(h, hp);
    size_t len;
    uint8_t *der = cert_for(pk, &len);
    /* The outer SEQUENCE's length in a longer form than it needs
     * (30 82 hh ll -> 30 83 00 hh ll): BER, which OpenSSL reads. */
    assert_int_equal(der[1], 0x82);
    uint8_t *ber = malloc(len + 1);
    assert_non_null(ber);
    ber[0] = 0x30;
    ber[1] = 0x83;
    ber[2] = 0x00;
    memcpy(ber + 3, der + 2, len - 2);
    const unsigned char *p = ber;
    X509 *x = d2i_X509(NULL, &p, (long)(len + 1));
    assert_non_null(x);
    assert_ptr_equal(p, ber + len + 1);
    X509_free(x);
    assert_false(card_cert_whole(ber, len + 1));
    size_t before = ic.napdu;
    CK_ULONG certs = count(h, CKO_CERTIFICATE);
    assert_int_equal(create_cert(h, ber, len + 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    /* Trailing bytes after the certificate. */
    der[len] = 0x00;
    der[len + 1] = 0x00;
    assert_int_equal(create_cert(h, der, len + 2, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(ic_writes_since(before), 0);
    assert_int_equal(count(h, CKO_CERTIFICATE), certs);
    /* The key still gets its right certificate, and it reads back. */
    assert_int_equal(create_cert(h, der, len, &o), CKR_OK);
    assert_int_equal(count(h, CKO_CERTIFICATE), certs + 1);
    uint8_t back[1024];
    CK_ATTRIBUTE v = { CKA_VALUE, back, sizeof(back) };
    assert_int_equal(f->C_GetAttributeValue(h, o, &v, 1), CKR_OK);
    assert_int_equal(v.ulValueLen, len);
    assert_memory_equal(back, der, len);
    free(ber);
    free(der);
    EVP_PKEY_free(pk);
    f->C_CloseSession(h);
}

/* ---- mechanisms ---- */

static void test_ecdsa_any_length(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE key = first(h, CKO_PRIVATE_KEY), pub = first(h, CKO_PUBLIC_KEY);
    EVP_PKEY *pk = pubkey_of(h, pub);
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    static const size_t lens[] = { 1, 20, 30, 31, 32, 33, 48, 64, 65, 100 };
    uint8_t in[100];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(0xA5 ^ (i * 7));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        CK_BYTE sig[64];
        CK_ULONG sl = sizeof(sig);
        assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);
        CK_RV rv = f->C_Sign(h, in, lens[i], sig, &sl);
        if (rv != CKR_OK)
            fail_msg("CKM_ECDSA over %zu bytes: 0x%lx", lens[i], (unsigned long)rv);
        assert_int_equal(sl, 64);
        /* OpenSSL reads the input as PKCS#11 and X9.62 say: the order's
         * bit length, truncated or as a shorter integer. */
        ECDSA_SIG *es = ECDSA_SIG_new();
        assert_true(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
        unsigned char *der = NULL;
        int dl = i2d_ECDSA_SIG(es, &der);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
        assert_true(EVP_PKEY_verify_init(pc) > 0);
        if (EVP_PKEY_verify(pc, der, (size_t)dl, in, lens[i]) != 1)
            fail_msg("OpenSSL refuses the signature over %zu bytes", lens[i]);
        EVP_PKEY_CTX_free(pc);
        OPENSSL_free(der);
        ECDSA_SIG_free(es);
        assert_int_equal(f->C_VerifyInit(h, &m, pub), CKR_OK);
        assert_int_equal(f->C_Verify(h, in, lens[i], sig, sl), CKR_OK);
    }
    EVP_PKEY_free(pk);
    f->C_CloseSession(h);
}

/* RSA with a public key of the card: raw, no padding. */
static size_t raw_rsa(EVP_PKEY *pk, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                      int padding)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
    size_t ol = cap;
    assert_true(EVP_PKEY_encrypt_init(pc) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, padding) > 0);
    assert_true(EVP_PKEY_encrypt(pc, out, &ol, in, len) > 0);
    EVP_PKEY_CTX_free(pc);
    return ol;
}

static void test_decrypt_bad_padding(void **state)
{
    (void)state;
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE key = first(h, CKO_PRIVATE_KEY);
    EVP_PKEY *pk = pubkey_of(h, first(h, CKO_PUBLIC_KEY));
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    uint8_t block[128], ct[128], pt[128];
    /* A block that is no PKCS#1 v1.5 encryption padding. */
    memset(block, 0x5A, sizeof(block));
    block[0] = 0x00;
    block[1] = 0x01;
    size_t cl = raw_rsa(pk, block, sizeof(block), ct, sizeof(ct), RSA_NO_PADDING);
    assert_int_equal(cl, 128);
    CK_ULONG pl = sizeof(pt);
    assert_int_equal(f->C_DecryptInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Decrypt(h, ct, cl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
    pl = sizeof(pt);
    assert_int_equal(f->C_Decrypt(h, ct, cl, pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
    /* A good one still deciphers. */
    cl = raw_rsa(pk, (const uint8_t *)"secret", 6, ct, sizeof(ct), RSA_PKCS1_PADDING);
    pl = sizeof(pt);
    assert_int_equal(f->C_DecryptInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Decrypt(h, ct, cl, pt, &pl), CKR_OK);
    assert_int_equal(pl, 6);
    assert_memory_equal(pt, "secret", 6);
    EVP_PKEY_free(pk);
    f->C_CloseSession(h);
}

/* Profile G's short APDUs carry a 1024-bit cryptogram, not a 2048-bit
 * one: the mechanism info says so, and the key is out of range. */
static void test_decrypt_limits(void **state)
{
    (void)state;
    CK_MECHANISM_INFO mi;
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS, &mi), CKR_OK);
    assert_true(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMaxKeySize, 1024);
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_SHA1_RSA_PKCS, &mi), CKR_OK);
    assert_false(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMaxKeySize, 2048);
    CK_SESSION_HANDLE h = logged_in();
    CK_OBJECT_HANDLE key = first(h, CKO_PRIVATE_KEY);
    CK_ULONG bits = 0;
    CK_ATTRIBUTE a = { CKA_MODULUS_BITS, &bits, sizeof(bits) };
    assert_int_equal(f->C_GetAttributeValue(h, first(h, CKO_PUBLIC_KEY), &a, 1), CKR_OK);
    assert_int_equal(bits, 2048);
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    assert_int_equal(f->C_DecryptInit(h, &m, key), CKR_KEY_SIZE_RANGE);
    CK_BYTE sig[256];
    CK_ULONG sl = sizeof(sig);
    assert_int_equal(f->C_SignInit(h, &m, key), CKR_OK);     /* signing is not limited */
    assert_int_equal(f->C_Sign(h, (CK_BYTE *)"0123456789", 10, sig, &sl), CKR_OK);
    f->C_CloseSession(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_initialized_first, up_o, down),
        cmocka_unit_test_setup_teardown(test_interface_3_0, up_o, down),
        cmocka_unit_test_setup_teardown(test_handles_before_arguments, up_o, down),
        cmocka_unit_test_setup_teardown(test_null_pointers, up_o, down),
        cmocka_unit_test_setup_teardown(test_null_pointers, up_g, down),
        cmocka_unit_test_setup_teardown(test_failure_ends_operation, up_g, down),
        cmocka_unit_test_setup_teardown(test_template_rules, up_o, down),
        cmocka_unit_test_setup_teardown(test_template_rules, up_g, down),
        cmocka_unit_test_setup_teardown(test_keygen_template, up_o, down),
        cmocka_unit_test_setup_teardown(test_create_cert_readable, up_o, down),
        cmocka_unit_test_setup_teardown(test_ecdsa_any_length, up_o, down),
        cmocka_unit_test_setup_teardown(test_decrypt_bad_padding, up_g, down),
        cmocka_unit_test_setup_teardown(test_decrypt_limits, up_g2048, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
