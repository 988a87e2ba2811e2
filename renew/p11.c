/* p11.c: load a PKCS#11 module, find the token, log in, read credentials.
 * Nothing here knows which module it talks to. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include "renew/p11.h"
#include "renew/uri.h"
#include "renew/plat.h"

int renew_fail(struct renew_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return code;
    e->code = code;
    e->absent = RENEW_ABSENT_NONE;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void renew_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int renew_p11_load(struct renew_p11 *p, const char *module, struct renew_err *e)
{
    memset(p, 0, sizeof *p);
    if (!module || !*module)
        module = getenv("CARDRENEW_MODULE");
    int rc = renew_plat_module_load(module, &p->mod, e);
    if (rc)
        return rc;
    p->f = p->mod.f;
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_RV rv = p->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        renew_p11_unload(p);
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "the PKCS#11 module %s failed to start (%s): check its configuration",
                          p->mod.path, renew_ckr_name(rv));
    }
    p->initialized = rv == CKR_OK;
    return 0;
}

void renew_p11_unload(struct renew_p11 *p)
{
    renew_p11_close(p);
    if (p->f && p->initialized)
        p->f->C_Finalize(NULL);
    renew_plat_module_unload(&p->mod);
    p->f = NULL;
    p->initialized = false;
}

int renew_uri_match_slot(const char *uri, const CK_INFO *mi, CK_SLOT_ID id,
                         const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti, struct renew_err *e)
{
    struct renew_uri u;
    if (!uri || !*uri)
        return 1;
    const char *why = renew_uri_parse(uri, &u);
    if (why) {
        renew_fail(e, RENEW_E_USAGE, "--token: \"%s\" is not a pkcs11: URI (%s)", uri, why);
        return -1;
    }
    return renew_uri_matches(&u, mi, id, si, ti);
}

int renew_uri_match(const char *uri, const CK_TOKEN_INFO *ti, struct renew_err *e)
{
    return renew_uri_match_slot(uri, NULL, 0, NULL, ti, e);
}

static void trim(char *out, const unsigned char *in, size_t n)
{
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\0'))
        n--;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* No token present at all: says whether the module shows slots (readers)
 * with nothing in them, or no slot. */
static int no_token(struct renew_p11 *p, struct renew_err *e)
{
    CK_ULONG all = 0;
    int rc = renew_fail(e, RENEW_E_NO_TOKEN, "no smartcard found: insert your card and try again");
    if (p->f->C_GetSlotList(CK_FALSE, NULL, &all) == CKR_OK)
        e->absent = all ? RENEW_ABSENT_TOKEN : RENEW_ABSENT_SLOT;
    return rc;
}

int renew_p11_slots(struct renew_p11 *p, const char *uri, CK_SLOT_ID **slots,
                    size_t *n, struct renew_err *e)
{
    CK_ULONG count = 0;
    CK_SLOT_ID *list = NULL;
    CK_TOKEN_INFO none;
    *slots = NULL;
    *n = 0;
    memset(&none, ' ', sizeof none);
    if (renew_uri_match(uri, &none, e) < 0)     /* a bad URI is a usage error */
        return e->code;
    CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &count);
    if (rv == CKR_OK && count) {
        list = calloc(count, sizeof *list);
        if (!list)
            return renew_fail(e, RENEW_E_TOKEN, "out of memory: close other programs and retry");
        rv = p->f->C_GetSlotList(CK_TRUE, list, &count);
    }
    if (rv != CKR_OK) {
        free(list);
        return renew_fail(e, RENEW_E_NO_TOKEN, "cannot list card readers (%s)",
                          renew_ckr_name(rv));
    }
    size_t k = 0;
    CK_INFO mi;
    bool have_mi = p->f->C_GetInfo(&mi) == CKR_OK;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO ti;
        CK_SLOT_INFO si;
        if (p->f->C_GetTokenInfo(list[i], &ti) != CKR_OK ||
            p->f->C_GetSlotInfo(list[i], &si) != CKR_OK)
            continue;
        if (!(ti.flags & CKF_TOKEN_INITIALIZED))
            continue;
        int m = renew_uri_match_slot(uri, have_mi ? &mi : NULL, list[i], &si, &ti, e);
        if (m < 0) {
            free(list);
            return e->code;
        }
        if (m)
            list[k++] = list[i];
    }
    if (k == 0) {
        free(list);
        if (count == 0)
            return no_token(p, e);
        if (uri && *uri)
            return renew_fail(e, RENEW_E_NO_TOKEN,
                              "no smartcard matching %s found: insert the card, or check --token",
                              uri);
        return renew_fail(e, RENEW_E_NO_TOKEN, "no smartcard found: insert your card and try again");
    }
    *slots = list;
    *n = k;
    return 0;
}

int renew_p11_open(struct renew_p11 *p, CK_SLOT_ID slot, bool rw, struct renew_err *e)
{
    renew_p11_close(p);
    CK_RV rv = p->f->C_GetTokenInfo(slot, &p->ti);
    if (rv == CKR_OK)
        rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0),
                                 NULL, NULL, &p->sess);
    if (rv != CKR_OK)
        return renew_p11_fail(e, rv, "opening the card");
    p->slot = slot;
    p->has_sess = true;
    trim(p->serial, p->ti.serialNumber, sizeof p->ti.serialNumber);
    trim(p->model, p->ti.model, sizeof p->ti.model);
    trim(p->label, p->ti.label, sizeof p->ti.label);
    return 0;
}

int renew_p11_open_one(struct renew_p11 *p, const char *uri, bool rw, struct renew_err *e)
{
    CK_SLOT_ID *slots;
    size_t n;
    int rc = renew_p11_slots(p, uri, &slots, &n, e);
    if (rc)
        return rc;
    if (!slots || n == 0)
        return renew_fail(e, RENEW_E_NO_TOKEN, "no smartcard found: insert your card and try again");
    if (n > 1) {
        free(slots);
        return renew_fail(e, RENEW_E_USAGE,
                          "%zu smartcards found: choose one with --token 'pkcs11:serial=...'", n);
    }
    rc = renew_p11_open(p, slots[0], rw, e);
    free(slots);
    return rc;
}

void renew_p11_close(struct renew_p11 *p)
{
    if (p->f && p->has_sess)
        p->f->C_CloseSession(p->sess);
    p->has_sess = false;
}

int renew_p11_login(struct renew_p11 *p, char *pin, size_t pin_len, struct renew_err *e)
{
    int rc = 0;
    CK_RV rv;
    if (p->f->C_GetTokenInfo(p->slot, &p->ti) == CKR_OK &&
        (p->ti.flags & CKF_USER_PIN_LOCKED)) {
        rc = renew_fail(e, RENEW_E_PIN_BLOCKED,
                        "your smartcard PIN is blocked: ask your RA to unblock it");
        goto out;
    }
    rv = p->f->C_Login(p->sess, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        goto out;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
        const char *left = "";
        if (p->f->C_GetTokenInfo(p->slot, &p->ti) == CKR_OK) {
            if (p->ti.flags & CKF_USER_PIN_LOCKED) {
                rc = renew_fail(e, RENEW_E_PIN_BLOCKED,
                                "wrong PIN: your smartcard PIN is now blocked: ask your RA to unblock it");
                goto out;
            }
            if (p->ti.flags & CKF_USER_PIN_FINAL_TRY)
                left = " ONE try left before the card blocks:";
            else if (p->ti.flags & CKF_USER_PIN_COUNT_LOW)
                left = " few tries left:";
        }
        rc = renew_fail(e, RENEW_E_PIN, "wrong PIN, nothing was changed;%s check your passcode and retry", left);
    } else if (rv == CKR_PIN_LOCKED) {
        rc = renew_fail(e, RENEW_E_PIN_BLOCKED,
                        "your smartcard PIN is blocked: ask your RA to unblock it");
    } else {
        rc = renew_p11_fail(e, rv, "logging in to the card");
    }
out:
    renew_wipe(pin, pin_len);
    return rc;
}

CK_RV renew_p11_attr(struct renew_p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
                     unsigned char **val, size_t *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    *val = NULL;
    *len = 0;
    CK_RV rv = p->f->C_GetAttributeValue(p->sess, o, &a, 1);
    if (rv != CKR_OK)
        return rv;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_SENSITIVE;
    a.pValue = malloc(a.ulValueLen + 1);
    if (!a.pValue)
        return CKR_HOST_MEMORY;
    rv = p->f->C_GetAttributeValue(p->sess, o, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return rv;
    }
    ((unsigned char *)a.pValue)[a.ulValueLen] = 0;
    *val = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

bool renew_p11_has_mech(struct renew_p11 *p, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO *info)
{
    CK_MECHANISM_INFO tmp;
    return p->f->C_GetMechanismInfo(p->slot, m, info ? info : &tmp) == CKR_OK;
}

static struct renew_cred *cred_for(struct renew_cred **all, size_t *n, size_t *cap,
                                   const unsigned char *id, size_t id_len)
{
    for (size_t i = 0; i < *n; i++)
        if ((*all)[i].id_len == id_len && memcmp((*all)[i].id, id, id_len) == 0)
            return &(*all)[i];
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct renew_cred *g = realloc(*all, nc * sizeof *g);
        if (!g)
            return NULL;
        *all = g;
        *cap = nc;
    }
    struct renew_cred *c = &(*all)[(*n)++];
    memset(c, 0, sizeof *c);
    memcpy(c->id, id, id_len);
    c->id_len = id_len;
    return c;
}

static int find_class(struct renew_p11 *p, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *h,
                      CK_ULONG max, CK_ULONG *n)
{
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
    CK_RV rv = p->f->C_FindObjectsInit(p->sess, &t, 1);
    if (rv != CKR_OK)
        return (int)rv;
    rv = p->f->C_FindObjects(p->sess, h, max, n);
    p->f->C_FindObjectsFinal(p->sess);
    return (int)rv;
}

int renew_p11_creds(struct renew_p11 *p, struct renew_cred **out, size_t *n_out,
                    struct renew_err *e)
{
    static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_CERTIFICATE, CKO_PUBLIC_KEY };
    struct renew_cred *all = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *n_out = 0;
    for (size_t c = 0; c < 3; c++) {
        CK_OBJECT_HANDLE h[64];
        CK_ULONG cnt = 0;
        CK_RV rv = (CK_RV)find_class(p, classes[c], h, 64, &cnt);
        if (rv != CKR_OK) {
            renew_p11_creds_free(all, n);
            return renew_p11_fail(e, rv, "reading the card");
        }
        for (CK_ULONG i = 0; i < cnt; i++) {
            unsigned char *id = NULL, *v = NULL;
            size_t id_len = 0, vl = 0;
            if (renew_p11_attr(p, h[i], CKA_ID, &id, &id_len) != CKR_OK ||
                id_len > RENEW_ID_MAX) {
                free(id);
                continue;
            }
            struct renew_cred *cr = cred_for(&all, &n, &cap, id, id_len);
            free(id);
            if (!cr) {
                renew_p11_creds_free(all, n);
                return renew_fail(e, RENEW_E_TOKEN, "out of memory: close other programs and retry");
            }
            if (classes[c] == CKO_PRIVATE_KEY) {
                cr->priv = h[i];
                cr->has_priv = true;
                if (renew_p11_attr(p, h[i], CKA_KEY_TYPE, &v, &vl) == CKR_OK &&
                    vl == sizeof(CK_KEY_TYPE))
                    memcpy(&cr->key_type, v, vl);
                free(v);
                if (renew_p11_attr(p, h[i], CKA_DECRYPT, &v, &vl) == CKR_OK && vl == 1)
                    cr->decrypt = v[0];
                free(v);
            } else if (classes[c] == CKO_PUBLIC_KEY) {
                cr->pub = h[i];
                cr->has_pub = true;
            } else {
                if (renew_p11_attr(p, h[i], CKA_VALUE, &v, &vl) == CKR_OK) {
                    const unsigned char *q = v;
                    X509 *x = d2i_X509(NULL, &q, (long)vl);
                    if (x) {
                        X509_free(cr->x509);
                        cr->x509 = x;
                        cr->cert = h[i];
                        cr->has_cert = true;
                    }
                }
                free(v);
                v = NULL;       /* not read again when this one is not the certificate */
                if (cr->has_cert && cr->cert == h[i] &&
                    renew_p11_attr(p, h[i], CKA_LABEL, &v, &vl) == CKR_OK)
                    snprintf(cr->label, sizeof cr->label, "%.*s", (int)vl, (char *)v);
                free(v);
            }
        }
    }
    *out = all;
    *n_out = n;
    return 0;
}

void renew_p11_creds_free(struct renew_cred *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        X509_free(c[i].x509);
    free(c);
}

#define N(x) case x: return #x
const char *renew_ckr_name(CK_RV rv)
{
    switch (rv) {
    N(CKR_OK); N(CKR_GENERAL_ERROR); N(CKR_HOST_MEMORY); N(CKR_FUNCTION_FAILED);
    N(CKR_ARGUMENTS_BAD); N(CKR_DEVICE_ERROR); N(CKR_DEVICE_MEMORY); N(CKR_DEVICE_REMOVED);
    N(CKR_TOKEN_NOT_PRESENT); N(CKR_TOKEN_NOT_RECOGNIZED); N(CKR_TOKEN_WRITE_PROTECTED);
    N(CKR_SESSION_HANDLE_INVALID); N(CKR_SESSION_CLOSED); N(CKR_USER_NOT_LOGGED_IN);
    N(CKR_PIN_INCORRECT); N(CKR_PIN_LOCKED); N(CKR_PIN_LEN_RANGE); N(CKR_MECHANISM_INVALID);
    N(CKR_KEY_TYPE_INCONSISTENT); N(CKR_TEMPLATE_INCONSISTENT); N(CKR_TEMPLATE_INCOMPLETE);
    N(CKR_ATTRIBUTE_VALUE_INVALID); N(CKR_ATTRIBUTE_TYPE_INVALID); N(CKR_DATA_LEN_RANGE);
    N(CKR_DATA_INVALID); N(CKR_OBJECT_HANDLE_INVALID); N(CKR_FUNCTION_NOT_SUPPORTED);
    N(CKR_CRYPTOKI_NOT_INITIALIZED); N(CKR_SLOT_ID_INVALID); N(CKR_KEY_HANDLE_INVALID);
    N(CKR_SESSION_READ_ONLY); N(CKR_ACTION_PROHIBITED); N(CKR_BUFFER_TOO_SMALL);
    default: return "CKR_VENDOR_OR_UNKNOWN";
    }
}
#undef N

int renew_p11_fail(struct renew_err *e, CK_RV rv, const char *doing)
{
    switch (rv) {
    case CKR_DEVICE_REMOVED: case CKR_TOKEN_NOT_PRESENT: case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "the smartcard was removed while %s: reinsert it and run cardrenew --renew again",
                          doing);
    case CKR_PIN_LOCKED:
        return renew_fail(e, RENEW_E_PIN_BLOCKED,
                          "your smartcard PIN is blocked: ask your RA to unblock it");
    case CKR_DEVICE_MEMORY:
        return renew_fail(e, RENEW_E_TOKEN,
                          "no free key container on the smartcard while %s: ask your RA to cancel and re-issue the card",
                          doing);
    case CKR_FUNCTION_NOT_SUPPORTED: case CKR_MECHANISM_INVALID: case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_ACTION_PROHIBITED:
        return renew_fail(e, RENEW_E_UNSUPPORTED,
                          "this smartcard cannot be renewed here (%s while %s): ask your RA for a renewal",
                          renew_ckr_name(rv), doing);
    default:
        return renew_fail(e, RENEW_E_TOKEN,
                          "there was a problem with your smartcard while %s (%s): retry; if it persists ask your RA",
                          doing, renew_ckr_name(rv));
    }
}
