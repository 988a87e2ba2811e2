/* fuzz_pkcs11.c: C_* call sequences against the module, with hostile
 * templates, lengths, handles and mechanisms, while the cards answer
 * through fz_card.c (reader 0 profile G, reader 1 profile O; faults
 * from the second input stream).
 *
 * Every buffer handed to the module is allocated to exactly the length
 * the call states, so ASan sees a byte read or written past it. Checked
 * besides: lengths returned fit what was given, C_FindObjects returns at
 * most what was asked, no PC/SC transaction stays open between calls,
 * and the module finalises and initialises again cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>

#include "tests/fuzz/fz_card.h"

#define MAX_OPS 64
#define MAX_HANDLES 16
#define MAX_ATTRS 8

static CK_FUNCTION_LIST_PTR f;
static uint8_t last_sig[1100];      /* the last signature made, for C_Verify */
static CK_ULONG last_sig_len;
static CK_SESSION_HANDLE sess[MAX_HANDLES];
static size_t nsess;
static CK_OBJECT_HANDLE objs[MAX_HANDLES];
static size_t nobjs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fz_world_init("G", "O");
    if (C_GetFunctionList(&f) != CKR_OK)
        abort();
    return 0;
}

static void *dup_or_null(const void *p, size_t n)
{
    if (!n)
        return NULL;
    void *d = malloc(n);
    memcpy(d, p, n);
    return d;
}

static CK_SLOT_ID pick_slot(struct fz *in)
{
    uint8_t b = fz_u8(in);
    return b < 0xF0 ? b % 2 : (CK_SLOT_ID)fz_u16(in) * (b & 1 ? 1 : 0x10001);
}

static CK_SESSION_HANDLE pick_session(struct fz *in)
{
    uint8_t b = fz_u8(in);
    if (b < 0xF0 && nsess)
        return sess[b % nsess];
    return b & 1 ? CK_INVALID_HANDLE : (CK_SESSION_HANDLE)fz_u16(in);
}

static CK_OBJECT_HANDLE pick_object(struct fz *in)
{
    uint8_t b = fz_u8(in);
    if (b < 0xF0 && nobjs)
        return objs[b % nobjs];
    return b & 1 ? CK_INVALID_HANDLE : (CK_OBJECT_HANDLE)fz_u16(in);
}

static const CK_ATTRIBUTE_TYPE types[] = {
    CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID, CKA_KEY_TYPE,
    CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_VALUE,
    CKA_CERTIFICATE_TYPE, CKA_SIGN, CKA_DECRYPT, CKA_MODULUS, CKA_SUBJECT,
    CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_WRAP,
    CKA_ENCRYPT, CKA_VERIFY, CKA_MODIFIABLE, CKA_ALWAYS_AUTHENTICATE,
    CKA_PUBLIC_KEY_INFO, CKA_START_DATE, CKA_EC_POINT, CKA_UNWRAP, CKA_DERIVE,
    CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_KEY_GEN_MECHANISM,
    CKA_ALLOWED_MECHANISMS, CKA_SIGN_RECOVER, CKA_VERIFY_RECOVER, CKA_TRUSTED,
    CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE, CKA_END_DATE, CKA_APPLICATION,
    CKA_OBJECT_ID, CKA_COPYABLE, CKA_DESTROYABLE, CKA_WRAP_WITH_TRUSTED,
    CKA_VENDOR_DEFINED, CKA_VENDOR_DEFINED | 1,
};

static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03,
                                    0x01, 0x07 };

/* A plausible value for a type, so templates often mean something. */
static size_t good_value(CK_ATTRIBUTE_TYPE t, uint8_t sel, uint8_t *out)
{
    CK_ULONG ul;
    size_t len;
    switch (t) {
    case CKA_CLASS:
        ul = (CK_ULONG[]){ CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY,
                           CKO_DATA, CKO_SECRET_KEY }[sel % 5];
        break;
    case CKA_KEY_TYPE:
        ul = (CK_ULONG[]){ CKK_RSA, CKK_EC, CKK_AES }[sel % 3];
        break;
    case CKA_CERTIFICATE_TYPE:
        ul = sel & 1 ? CKC_X_509 : CKC_WTLS;
        break;
    case CKA_MODULUS_BITS:
        ul = (CK_ULONG[]){ 2048, 1024, 4096, 0, 512, 256 }[sel % 6];
        break;
    case CKA_PUBLIC_EXPONENT:
        memcpy(out, "\x01\x00\x01", 3);
        return sel & 1 ? 3 : 1;
    case CKA_EC_PARAMS:
        memcpy(out, p256_oid, sizeof(p256_oid));
        return sel & 1 ? sizeof(p256_oid) : sizeof(p256_oid) - 1;
    case CKA_VALUE: {
        const uint8_t *der = fz_cert_der(sel % FZ_NKEYS, &len);
        memcpy(out, der, len);
        return sel & 0x80 ? len / 2 : len;
    }
    case CKA_LABEL:
        memcpy(out, "Fuzz Label", 10);
        return sel % 11;
    case CKA_ID:
        memset(out, sel, 20);
        return 20;
    default:
        out[0] = sel & 1;   /* CK_BBOOL */
        return 1;
    }
    memcpy(out, &ul, sizeof(ul));
    return sizeof(ul);
}

/* A caller's template, built from the input; values are exact-size heap
 * copies. out: for C_GetAttributeValue, pValue is left for the module. */
static CK_ULONG make_template(struct fz *in, CK_ATTRIBUTE *t, bool out)
{
    CK_ULONG n = fz_u8(in) % (MAX_ATTRS + 1);
    for (CK_ULONG i = 0; i < n; i++) {
        uint8_t b = fz_u8(in);
        t[i].type = b < 0xF0 ? types[b % (sizeof(types) / sizeof(types[0]))]
                             : (CK_ATTRIBUTE_TYPE)fz_u16(in);
        uint8_t mode = fz_u8(in);
        uint8_t val[4096];
        size_t len;
        if (out) {
            /* NULL (a length query), a buffer of some size, or none at all. */
            len = mode < 0x40 ? 0 : mode < 0xC0 ? fz_u16(in) % 2100 : 1;
            t[i].pValue = mode < 0x40 ? NULL : malloc(len ? len : 1);
            t[i].ulValueLen = mode < 0x40 && (mode & 1) ? (CK_ULONG)-1 : len;
            continue;
        }
        if (mode < 0xA0) {
            len = good_value(t[i].type, fz_u8(in), val);
        } else {
            const uint8_t *p = fz_bytes(in, fz_u8(in), &len);
            memcpy(val, p, len);
        }
        t[i].pValue = dup_or_null(val, len);
        t[i].ulValueLen = len;
        if (mode == 0xFF) {             /* a length with no value */
            free(t[i].pValue);
            t[i].pValue = NULL;
            t[i].ulValueLen = fz_u8(in);
        }
    }
    return n;
}

static void free_template(CK_ATTRIBUTE *t, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        free(t[i].pValue);
}

static const CK_MECHANISM_TYPE mechs[] = {
    CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA,
    CKM_ECDSA_SHA256, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN, CKM_RSA_X_509,
    CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_AES_CBC,
};

/* A mechanism, with PSS parameters (right or wrong) or raw bytes. */
static void make_mech(struct fz *in, CK_MECHANISM *m)
{
    uint8_t b = fz_u8(in);
    m->mechanism = b < 0xF0 ? mechs[b % (sizeof(mechs) / sizeof(mechs[0]))]
                            : (CK_MECHANISM_TYPE)fz_u16(in);
    m->pParameter = NULL;
    m->ulParameterLen = 0;
    uint8_t p = fz_u8(in);
    if (p < 0x80)
        return;
    if (p < 0xC0) {
        uint8_t q = fz_u8(in);
        CK_RSA_PKCS_PSS_PARAMS pss = {
            (CK_MECHANISM_TYPE[]){ CKM_SHA256, CKM_SHA_1, CKM_SHA384, CKM_MD5 }[q & 3],
            (CK_RSA_PKCS_MGF_TYPE[]){ CKG_MGF1_SHA256, CKG_MGF1_SHA1, 0, 99 }[(q >> 2) & 3],
            (CK_ULONG[]){ 32, 20, 0, 1000 }[(q >> 4) & 3],
        };
        size_t len = q & 0x40 ? sizeof(pss) - 1 : sizeof(pss);
        m->pParameter = dup_or_null(&pss, len);
        m->ulParameterLen = len;
        return;
    }
    size_t len;
    const uint8_t *raw = fz_bytes(in, fz_u8(in) % 64, &len);
    m->pParameter = dup_or_null(raw, len);
    m->ulParameterLen = p == 0xFF ? len + 1000 * !len : len;    /* NULL with a length */
}

static uint8_t *encrypt_for(int k, const uint8_t *msg, size_t n, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(fz_pool_key(k), NULL);
    uint8_t *out = NULL;
    size_t len = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx, NULL, &len, msg, n) <= 0 || !(out = malloc(len)) ||
        EVP_PKEY_encrypt(ctx, out, &len, msg, n) <= 0)
        abort();
    EVP_PKEY_CTX_free(ctx);
    *outlen = len;
    return out;
}

static void add_session(CK_SESSION_HANDLE h)
{
    if (nsess == MAX_HANDLES)
        nsess--;
    sess[nsess++] = h;
}

static void add_object(CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < nobjs; i++)
        if (objs[i] == h)
            return;
    if (nobjs == MAX_HANDLES)
        nobjs--;
    objs[nobjs++] = h;
}

/* An output buffer: NULL (length query) or exact-size, maybe too small. */
static uint8_t *out_buf(struct fz *in, CK_ULONG *len)
{
    uint8_t b = fz_u8(in);
    if (b >= 0xC0) {
        *len = b & 1 ? 0 : (CK_ULONG)-1;
        return NULL;
    }
    *len = b < 0x80 ? 512 : fz_u16(in) % 1100;
    return malloc(*len ? *len : 1);
}

static void pin_of(struct fz *in, const char *good, CK_UTF8CHAR **pin, CK_ULONG *len)
{
    uint8_t b = fz_u8(in);
    size_t n;
    const uint8_t *p;
    if (b < 0xA0) {
        p = (const uint8_t *)good;
        n = strlen(good);
    } else {
        p = fz_bytes(in, b & 0x3F, &n);
    }
    *pin = dup_or_null(p, n);
    *len = n;
    if (b == 0xFF) {    /* NULL with a length */
        free(*pin);
        *pin = NULL;
        *len = 8;
    }
}

static void call(struct fz *in)
{
    CK_ATTRIBUTE t[MAX_ATTRS], t2[MAX_ATTRS];
    CK_ULONG n, n2, len;
    CK_MECHANISM m;
    CK_RV rv;
    uint8_t *buf, data[1100];
    size_t dlen;
    uint8_t op = fz_u8(in);
    switch (op % 32) {
    case 0: {
        CK_BBOOL present = fz_u8(in) & 1;
        CK_ULONG count = 0;
        if (f->C_GetSlotList(present, NULL, &count) != CKR_OK)
            break;
        CK_ULONG cap = fz_u8(in) & 1 ? count : count / 2;
        CK_SLOT_ID *l = malloc((cap ? cap : 1) * sizeof(*l));
        CK_ULONG got = cap;
        if (f->C_GetSlotList(present, cap ? l : NULL, &got) == CKR_OK && cap && got > cap)
            abort();
        free(l);
        break;
    }
    case 1: {
        CK_SLOT_INFO si;
        f->C_GetSlotInfo(pick_slot(in), &si);
        break;
    }
    case 2: {
        CK_TOKEN_INFO ti;
        f->C_GetTokenInfo(pick_slot(in), &ti);
        break;
    }
    case 3: {
        CK_SLOT_ID s = pick_slot(in);
        CK_ULONG count = 0;
        if (f->C_GetMechanismList(s, NULL, &count) != CKR_OK)
            break;
        CK_ULONG cap = fz_u8(in) & 1 ? count : count / 2, got = cap;
        CK_MECHANISM_TYPE *l = malloc((cap ? cap : 1) * sizeof(*l));
        if (f->C_GetMechanismList(s, l, &got) == CKR_OK && got > cap)
            abort();
        free(l);
        break;
    }
    case 4: {
        CK_MECHANISM_INFO mi;
        make_mech(in, &m);
        f->C_GetMechanismInfo(pick_slot(in), m.mechanism, &mi);
        free(m.pParameter);
        break;
    }
    case 5: {
        uint8_t b = fz_u8(in);
        CK_FLAGS fl = b < 0x80 ? CKF_SERIAL_SESSION | CKF_RW_SESSION
                    : b < 0xC0 ? CKF_SERIAL_SESSION : (CK_FLAGS)fz_u16(in);
        CK_SESSION_HANDLE h;
        if (f->C_OpenSession(pick_slot(in), fl, NULL, NULL, &h) == CKR_OK)
            add_session(h);
        break;
    }
    case 6:
        f->C_CloseSession(pick_session(in));
        break;
    case 7:
        f->C_CloseAllSessions(pick_slot(in));
        break;
    case 8: {
        CK_SESSION_INFO si;
        f->C_GetSessionInfo(pick_session(in), &si);
        break;
    }
    case 9: {
        CK_SESSION_HANDLE h = pick_session(in);
        uint8_t b = fz_u8(in);
        CK_USER_TYPE u = b < 0xC0 ? CKU_USER : b < 0xD0 ? CKU_SO
                       : b < 0xE0 ? CKU_CONTEXT_SPECIFIC : (CK_USER_TYPE)fz_u16(in);
        CK_UTF8CHAR *pin;
        pin_of(in, FZ_PIN, &pin, &len);
        f->C_Login(h, u, pin, len);
        free(pin);
        break;
    }
    case 10:
        f->C_Logout(pick_session(in));
        break;
    case 11: {
        CK_SESSION_HANDLE h = pick_session(in);
        CK_UTF8CHAR *o, *nw;
        CK_ULONG ol, nl;
        pin_of(in, FZ_PIN, &o, &ol);
        pin_of(in, FZ_PIN, &nw, &nl);
        f->C_SetPIN(h, o, ol, nw, nl);
        free(o);
        free(nw);
        break;
    }
    case 12: {
        CK_SESSION_HANDLE h = pick_session(in);
        CK_UTF8CHAR *pin;
        pin_of(in, FZ_PIN, &pin, &len);
        f->C_InitPIN(h, pin, len);
        free(pin);
        break;
    }
    case 13:
        n = make_template(in, t, false);
        f->C_FindObjectsInit(pick_session(in), n ? t : NULL, n);
        free_template(t, n);
        break;
    case 14: {
        CK_SESSION_HANDLE h = pick_session(in);
        CK_ULONG max = fz_u8(in) % 20, got = 99;
        CK_OBJECT_HANDLE *l = malloc((max ? max : 1) * sizeof(*l));
        rv = f->C_FindObjects(h, l, max, &got);
        if (rv == CKR_OK) {
            if (got > max)
                abort();
            for (CK_ULONG i = 0; i < got; i++)
                add_object(l[i]);
        }
        free(l);
        break;
    }
    case 15:
        f->C_FindObjectsFinal(pick_session(in));
        break;
    case 16: {
        CK_SESSION_HANDLE h = pick_session(in);
        CK_OBJECT_HANDLE o = pick_object(in);
        n = make_template(in, t, true);
        CK_ULONG given[MAX_ATTRS];
        for (CK_ULONG i = 0; i < n; i++)
            given[i] = t[i].ulValueLen;
        rv = f->C_GetAttributeValue(h, o, n ? t : NULL, n);
        for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++)
            if (t[i].pValue && t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
                t[i].ulValueLen > given[i])
                abort();
        free_template(t, n);
        break;
    }
    case 17: {
        CK_ULONG size;
        CK_SESSION_HANDLE h = pick_session(in);
        f->C_GetObjectSize(h, pick_object(in), &size);
        break;
    }
    case 18: {
        CK_SESSION_HANDLE h = pick_session(in);
        CK_OBJECT_HANDLE o = pick_object(in);
        n = make_template(in, t, false);
        f->C_SetAttributeValue(h, o, n ? t : NULL, n);
        free_template(t, n);
        break;
    }
    case 19:
    case 23:
    case 24: {
        CK_SESSION_HANDLE h = pick_session(in);
        make_mech(in, &m);
        CK_OBJECT_HANDLE o = pick_object(in);
        if (op % 32 == 19)
            f->C_SignInit(h, &m, o);
        else if (op % 32 == 23)
            f->C_VerifyInit(h, &m, o);
        else
            f->C_DecryptInit(h, &m, o);
        free(m.pParameter);
        break;
    }
    case 20:
    case 25: {
        CK_SESSION_HANDLE h = pick_session(in);
        uint8_t how = fz_u8(in);
        const uint8_t *p = fz_bytes(in, fz_u16(in) % sizeof(data), &dlen);
        uint8_t *d = dup_or_null(p, dlen);
        if (op % 32 == 25 && how < 0x40) {
            /* A cryptogram one of the cards' keys opens: a message from
             * the input, PKCS#1 v1.5 under the G (odd) or O card's key. */
            free(d);
            d = encrypt_for(how & 1 ? FZ_RSA1024_A : FZ_RSA2048_A, p, dlen % 100, &dlen);
        }
        buf = out_buf(in, &len);
        CK_ULONG cap = len;
        rv = op % 32 == 20 ? f->C_Sign(h, d, dlen, buf, &len)
                           : f->C_Decrypt(h, d, dlen, buf, &len);
        if (rv == CKR_OK && buf && len > cap)
            abort();
        if (rv == CKR_OK && buf && op % 32 == 20) {
            memcpy(last_sig, buf, len);
            last_sig_len = len;
        }
        free(d);
        free(buf);
        break;
    }
    case 21: {
        CK_SESSION_HANDLE h = pick_session(in);
        const uint8_t *p = fz_bytes(in, fz_u16(in) % sizeof(data), &dlen);
        uint8_t *d = dup_or_null(p, dlen);
        if (fz_u8(in) & 1)
            f->C_SignUpdate(h, d, dlen);
        else
            f->C_VerifyUpdate(h, d, dlen);
        free(d);
        break;
    }
    case 22: {
        CK_SESSION_HANDLE h = pick_session(in);
        uint8_t how = fz_u8(in);
        if (how >= 0xC0) {
            /* C_Verify or C_VerifyFinal with the last signature made, or
             * bytes from the input. */
            const uint8_t *p = fz_bytes(in, fz_u16(in) % sizeof(data), &dlen);
            uint8_t *d = dup_or_null(p, dlen);
            uint8_t *sig = how & 2 ? dup_or_null(last_sig, last_sig_len)
                                   : dup_or_null(p, dlen / 2);
            CK_ULONG slen = how & 2 ? last_sig_len : dlen / 2;
            if (how & 1)
                f->C_Verify(h, d, dlen, sig, slen);
            else
                f->C_VerifyFinal(h, sig, slen);
            free(d);
            free(sig);
            break;
        }
        buf = out_buf(in, &len);
        CK_ULONG cap = len;
        if (f->C_SignFinal(h, buf, &len) == CKR_OK && buf && len > cap)
            abort();
        free(buf);
        break;
    }
    case 26: {
        CK_SESSION_HANDLE h = pick_session(in);
        make_mech(in, &m);
        n = make_template(in, t, false);
        n2 = make_template(in, t2, false);
        CK_OBJECT_HANDLE pub = 0, priv = 0;
        if (f->C_GenerateKeyPair(h, &m, n ? t : NULL, n, n2 ? t2 : NULL, n2, &pub,
                                 &priv) == CKR_OK) {
            add_object(pub);
            add_object(priv);
        }
        free_template(t, n);
        free_template(t2, n2);
        free(m.pParameter);
        break;
    }
    case 27: {
        CK_SESSION_HANDLE h = pick_session(in);
        n = make_template(in, t, false);
        CK_OBJECT_HANDLE o;
        if (f->C_CreateObject(h, n ? t : NULL, n, &o) == CKR_OK)
            add_object(o);
        free_template(t, n);
        break;
    }
    case 28: {
        CK_SESSION_HANDLE h = pick_session(in);
        f->C_DestroyObject(h, pick_object(in));
        break;
    }
    case 29: {
        CK_SLOT_ID s;
        f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL);
        break;
    }
    case 30: {
        CK_SESSION_HANDLE h = pick_session(in);
        uint8_t r[64];
        if (fz_u8(in) & 1)
            f->C_GenerateRandom(h, r, fz_u8(in) % sizeof(r));
        else
            f->C_SeedRandom(h, r, fz_u8(in) % sizeof(r));
        break;
    }
    case 31:
        if (f->C_Finalize(NULL) != CKR_OK || f->C_Initialize(NULL) != CKR_OK)
            abort();
        nsess = nobjs = 0;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz in, faults;
    fz_split(data, size, &in, &faults);
    fz_world_reset(&faults);
    nsess = nobjs = 0;
    last_sig_len = 0;
    if (f->C_Initialize(NULL) != CKR_OK)
        abort();
    for (int i = 0; i < MAX_OPS && in.n; i++) {
        call(&in);
        if (fz_in_transaction(0) || fz_in_transaction(1))
            abort();        /* a C_* call returned inside a card transaction */
    }
    if (f->C_Finalize(NULL) != CKR_OK)
        abort();
    return 0;
}
