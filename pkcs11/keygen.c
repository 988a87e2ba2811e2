/* keygen.c: C_GenerateKeyPair on the card. The card names the pair: its
 * CKA_ID is SHA-1 of the public key, whatever the template asked, and
 * the returned handles report it. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* Attributes the card cannot honour make the template inconsistent. */
static CK_RV common_checks(const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_CLASS cls,
                           CK_KEY_TYPE kt)
{
    CK_RV rv = p11_template_check(t, n);
    CK_ULONG v;
    bool b, found;
    if (rv != CKR_OK)
        return rv;
    if ((rv = p11_template_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK)
        return rv;
    if (found && v != cls)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_template_ulong(t, n, CKA_KEY_TYPE, &v, &found)) != CKR_OK)
        return rv;
    if (found && v != kt)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_template_bool(t, n, CKA_TOKEN, &b, &found)) != CKR_OK)
        return rv;
    if (found && !b)
        return CKR_TEMPLATE_INCONSISTENT;       /* keys live on the card only */
    if ((rv = p11_template_bool(t, n, CKA_EXTRACTABLE, &b, &found)) != CKR_OK)
        return rv;
    if (found && b)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_template_bool(t, n, CKA_SENSITIVE, &b, &found)) != CKR_OK)
        return rv;
    if (found && !b && cls == CKO_PRIVATE_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

static bool is_f4(const CK_ATTRIBUTE *a)
{
    const uint8_t *p = a->pValue;
    size_t n = a->ulValueLen;
    while (n && *p == 0) {
        p++;
        n--;
    }
    return n == 3 && p[0] == 0x01 && p[1] == 0x00 && p[2] == 0x01;
}

static CK_OBJECT_HANDLE find_handle(struct p11_slot *s, enum p11_kind kind,
                                    const uint8_t *id, size_t idlen)
{
    for (size_t i = 0; i < s->nobj; i++) {
        const struct p11_attr *a = p11_attrs_get0(&s->obj[i].attrs, CKA_ID);
        if (s->obj[i].kind == kind && a && a->len == idlen && memcmp(a->val, id, idlen) == 0)
            return s->obj[i].handle;
    }
    return CK_INVALID_HANDLE;
}

CK_RV p11_generate_key_pair(struct p11_session *ss, CK_MECHANISM *m,
                            CK_ATTRIBUTE *pub, CK_ULONG npub,
                            CK_ATTRIBUTE *priv, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    if (!m || !hpub || !hpriv || (!pub && npub) || (!priv && npriv))
        return CKR_ARGUMENTS_BAD;
    const struct p11_mech *mech = p11_mech_find(m->mechanism);
    if (!mech || !mech->keygen)
        return CKR_MECHANISM_INVALID;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_KEY_TYPE kt = mech->ec ? CKK_EC : CKK_RSA;
    CK_RV rv = common_checks(pub, npub, CKO_PUBLIC_KEY, kt);
    if (rv == CKR_OK)
        rv = common_checks(priv, npriv, CKO_PRIVATE_KEY, kt);
    if (rv != CKR_OK)
        return rv;

    rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    const struct card_info *ci = card_get_info(s->card);
    CK_MECHANISM_INFO mi;
    unsigned bits = 256;
    enum card_key_type type = CARD_KEY_EC_P256;
    if (p11_mech_info(ci, 0, m->mechanism, &mi) != CKR_OK) {
        rv = CKR_MECHANISM_INVALID;
        goto out;
    }
    if (mech->ec) {
        const CK_ATTRIBUTE *a = p11_template_find(pub, npub, CKA_EC_PARAMS);
        if (!a) {
            rv = CKR_TEMPLATE_INCOMPLETE;
            goto out;
        }
        if (a->ulValueLen != sizeof(p256_oid) || memcmp(a->pValue, p256_oid, sizeof(p256_oid))) {
            rv = CKR_CURVE_NOT_SUPPORTED;
            goto out;
        }
    } else {
        CK_ULONG b;
        bool found;
        type = CARD_KEY_RSA;
        if ((rv = p11_template_ulong(pub, npub, CKA_MODULUS_BITS, &b, &found)) != CKR_OK)
            goto out;
        if (!found) {
            rv = CKR_TEMPLATE_INCOMPLETE;
            goto out;
        }
        if (b < ci->rsa_bits_min || b > ci->rsa_bits_max) {
            rv = CKR_KEY_SIZE_RANGE;
            goto out;
        }
        const CK_ATTRIBUTE *e = p11_template_find(pub, npub, CKA_PUBLIC_EXPONENT);
        if (e && !is_f4(e)) {
            rv = CKR_TEMPLATE_INCONSISTENT;     /* the card uses 65537 */
            goto out;
        }
        bits = (unsigned)b;
    }
    struct card_container made;
    memset(&made, 0, sizeof(made));
    rv = p11_card_result(s, card_generate_key(s->card, type, bits, &made));
    uint8_t id[20];
    size_t idlen = made.id_len < sizeof(id) ? made.id_len : sizeof(id);
    memcpy(id, made.id, idlen);
    /* The key parts are read again with the cache. */
    free(made.modulus);
    free(made.exponent);
    free(made.ec_point);
    free(made.cert);
    if (rv != CKR_OK)
        goto out;
    /* A pending key may leave a profile's counter as it was (G's counts
     * committed entries only): read the objects again. */
    p11_cache_stale(s);
    if ((rv = p11_cache_refresh(s)) != CKR_OK)
        goto out;
    const CK_ATTRIBUTE *lab = p11_template_find(priv, npriv, CKA_LABEL);
    if (!lab)
        lab = p11_template_find(pub, npub, CKA_LABEL);
    if (lab && lab->ulValueLen) {
        p11_label_set(s, id, idlen, lab->pValue, lab->ulValueLen);
        if ((rv = p11_objects_build(s)) != CKR_OK)
            goto out;
    }
    *hpub = find_handle(s, P11_PUB, id, idlen);
    *hpriv = find_handle(s, P11_PRIV, id, idlen);
    if (*hpub == CK_INVALID_HANDLE || *hpriv == CK_INVALID_HANDLE)
        rv = CKR_DEVICE_ERROR;
    else
        ss->view = true;        /* the objects were read just now */
out:
    p11_token_end(s);
    return rv;
}
