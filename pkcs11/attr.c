/* attr.c: the one table of attribute types, object attribute lists, and
 * the C_GetAttributeValue and template rules. Every template is
 * untrusted: lengths are checked before a value is read. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

static const struct {
    CK_ATTRIBUTE_TYPE type;
    enum p11_attr_kind kind;
} table[] = {
    { CKA_CLASS, P11_A_ULONG },
    { CKA_TOKEN, P11_A_BOOL },
    { CKA_PRIVATE, P11_A_BOOL },
    { CKA_LABEL, P11_A_BYTES },
    { CKA_APPLICATION, P11_A_BYTES },
    { CKA_VALUE, P11_A_BYTES },
    { CKA_OBJECT_ID, P11_A_BYTES },
    { CKA_CERTIFICATE_TYPE, P11_A_ULONG },
    { CKA_ISSUER, P11_A_BYTES },
    { CKA_SERIAL_NUMBER, P11_A_BYTES },
    { CKA_AC_ISSUER, P11_A_BYTES },
    { CKA_OWNER, P11_A_BYTES },
    { CKA_ATTR_TYPES, P11_A_BYTES },
    { CKA_TRUSTED, P11_A_BOOL },
    { CKA_CERTIFICATE_CATEGORY, P11_A_ULONG },
    { CKA_JAVA_MIDP_SECURITY_DOMAIN, P11_A_ULONG },
    { CKA_URL, P11_A_BYTES },
    { CKA_HASH_OF_SUBJECT_PUBLIC_KEY, P11_A_BYTES },
    { CKA_HASH_OF_ISSUER_PUBLIC_KEY, P11_A_BYTES },
    { CKA_CHECK_VALUE, P11_A_BYTES },
    { CKA_KEY_TYPE, P11_A_ULONG },
    { CKA_SUBJECT, P11_A_BYTES },
    { CKA_ID, P11_A_BYTES },
    { CKA_SENSITIVE, P11_A_BOOL },
    { CKA_ENCRYPT, P11_A_BOOL },
    { CKA_DECRYPT, P11_A_BOOL },
    { CKA_WRAP, P11_A_BOOL },
    { CKA_UNWRAP, P11_A_BOOL },
    { CKA_SIGN, P11_A_BOOL },
    { CKA_SIGN_RECOVER, P11_A_BOOL },
    { CKA_VERIFY, P11_A_BOOL },
    { CKA_VERIFY_RECOVER, P11_A_BOOL },
    { CKA_DERIVE, P11_A_BOOL },
    { CKA_START_DATE, P11_A_DATE },
    { CKA_END_DATE, P11_A_DATE },
    { CKA_MODULUS, P11_A_BYTES },
    { CKA_MODULUS_BITS, P11_A_ULONG },
    { CKA_PUBLIC_EXPONENT, P11_A_BYTES },
    { CKA_PRIVATE_EXPONENT, P11_A_BYTES },
    { CKA_PRIME_1, P11_A_BYTES },
    { CKA_PRIME_2, P11_A_BYTES },
    { CKA_EXPONENT_1, P11_A_BYTES },
    { CKA_EXPONENT_2, P11_A_BYTES },
    { CKA_COEFFICIENT, P11_A_BYTES },
    { CKA_PUBLIC_KEY_INFO, P11_A_BYTES },
    { CKA_VALUE_LEN, P11_A_ULONG },
    { CKA_EXTRACTABLE, P11_A_BOOL },
    { CKA_LOCAL, P11_A_BOOL },
    { CKA_NEVER_EXTRACTABLE, P11_A_BOOL },
    { CKA_ALWAYS_SENSITIVE, P11_A_BOOL },
    { CKA_KEY_GEN_MECHANISM, P11_A_ULONG },
    { CKA_MODIFIABLE, P11_A_BOOL },
    { CKA_COPYABLE, P11_A_BOOL },
    { CKA_DESTROYABLE, P11_A_BOOL },
    { CKA_EC_PARAMS, P11_A_BYTES },
    { CKA_EC_POINT, P11_A_BYTES },
    { CKA_ALWAYS_AUTHENTICATE, P11_A_BOOL },
    { CKA_WRAP_WITH_TRUSTED, P11_A_BOOL },
    { CKA_NAME_HASH_ALGORITHM, P11_A_ULONG },
    { CKA_ALLOWED_MECHANISMS, P11_A_BYTES },
};

bool p11_attr_kind(CK_ATTRIBUTE_TYPE type, enum p11_attr_kind *kind)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].type == type) {
            if (kind)
                *kind = table[i].kind;
            return true;
        }
    return false;
}

static CK_RV add(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, const void *val,
                 CK_ULONG len, bool sensitive)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct p11_attr *a = realloc(l->a, cap * sizeof(*a));
        if (!a)
            return CKR_HOST_MEMORY;
        l->a = a;
        l->cap = cap;
    }
    void *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return CKR_HOST_MEMORY;
        memcpy(copy, val, len);
    }
    l->a[l->n++] = (struct p11_attr){ type, copy, len, sensitive };
    return CKR_OK;
}

CK_RV p11_attrs_add(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len)
{
    return add(l, type, val, len, false);
}

CK_RV p11_attrs_add_ulong(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return add(l, type, &v, sizeof(v), false);
}

CK_RV p11_attrs_add_bool(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    return add(l, type, &b, sizeof(b), false);
}

CK_RV p11_attrs_add_sensitive(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type)
{
    return add(l, type, NULL, 0, true);
}

void p11_attrs_free(struct p11_attrs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->a[i].val);
    free(l->a);
    memset(l, 0, sizeof(*l));
}

const struct p11_attr *p11_attrs_get0(const struct p11_attrs *l, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->a[i].type == type)
            return &l->a[i];
    return NULL;
}

/* Each element is handled on its own and the loop always finishes; the
 * return value reports one of the failures (PKCS#11 2.40, 5.7). */
CK_RV p11_attrs_fill(const struct p11_attrs *l, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    if (!tmpl && n)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++) {
        const struct p11_attr *a = p11_attrs_get0(l, tmpl[i].type);
        if (!a) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (a->sensitive) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (!tmpl[i].pValue) {
            tmpl[i].ulValueLen = a->len;
        } else if (tmpl[i].ulValueLen < a->len) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            if (a->len)
                memcpy(tmpl[i].pValue, a->val, a->len);
            tmpl[i].ulValueLen = a->len;
        }
    }
    return rv;
}

bool p11_attrs_match(const struct p11_attrs *l, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const struct p11_attr *a = p11_attrs_get0(l, tmpl[i].type);
        if (!a || a->sensitive || a->len != tmpl[i].ulValueLen)
            return false;
        if (a->len && (!tmpl[i].pValue || memcmp(a->val, tmpl[i].pValue, a->len) != 0))
            return false;
    }
    return true;
}

CK_RV p11_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (n && !tmpl)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++) {
        enum p11_attr_kind kind;
        if (!p11_attr_kind(tmpl[i].type, &kind))
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (tmpl[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (tmpl[i].ulValueLen && !tmpl[i].pValue)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        switch (kind) {
        case P11_A_ULONG:
            if (tmpl[i].ulValueLen != sizeof(CK_ULONG))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case P11_A_BOOL:
            if (tmpl[i].ulValueLen != sizeof(CK_BBOOL))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case P11_A_DATE:
            if (tmpl[i].ulValueLen != 0 && tmpl[i].ulValueLen != sizeof(CK_DATE))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case P11_A_BYTES:
            break;
        }
        for (CK_ULONG j = 0; j < i; j++)
            if (tmpl[j].type == tmpl[i].type)
                return CKR_TEMPLATE_INCONSISTENT;
    }
    return CKR_OK;
}

const CK_ATTRIBUTE *p11_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}

CK_RV p11_template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG *out, bool *found)
{
    const CK_ATTRIBUTE *a = p11_template_find(tmpl, n, type);
    *found = false;
    if (!a)
        return CKR_OK;
    if (a->ulValueLen != sizeof(CK_ULONG) || !a->pValue)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, sizeof(CK_ULONG));
    *found = true;
    return CKR_OK;
}

CK_RV p11_template_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                        bool *out, bool *found)
{
    const CK_ATTRIBUTE *a = p11_template_find(tmpl, n, type);
    *found = false;
    if (!a)
        return CKR_OK;
    if (a->ulValueLen != sizeof(CK_BBOOL) || !a->pValue)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    CK_BBOOL b = *(const CK_BBOOL *)a->pValue;
    if (b != CK_TRUE && b != CK_FALSE)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = b == CK_TRUE;
    *found = true;
    return CKR_OK;
}
