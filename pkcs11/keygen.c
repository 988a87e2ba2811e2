/* keygen.c: C_GenerateKeyPair on the card. The card names the pair: its
 * CKA_ID is SHA-1 of the public key, whatever the template asked, and
 * the returned handles report it. Any other attribute the card would not
 * give the key as asked makes the template inconsistent: nothing is
 * generated then. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* What a key the card makes is, attribute by attribute, whatever the
 * template asks: a template may ask for exactly that, or leave it out;
 * anything else would be silently overridden, so it is refused. */
enum fixed { ANY, YES, NO, RSA_ONLY };
static const struct {
    CK_ATTRIBUTE_TYPE type;
    enum fixed pub, priv;
} fixed[] = {
    { CKA_TOKEN, YES, YES },                /* no session keys on a card */
    { CKA_PRIVATE, NO, YES },
    { CKA_MODIFIABLE, NO, NO },
    { CKA_COPYABLE, NO, NO },
    { CKA_DESTROYABLE, NO, YES },           /* the public key goes with its pair */
    { CKA_DERIVE, NO, NO },
    { CKA_VERIFY, YES, ANY },
    { CKA_ENCRYPT, RSA_ONLY, ANY },
    { CKA_WRAP, NO, ANY },
    { CKA_VERIFY_RECOVER, NO, ANY },
    { CKA_TRUSTED, NO, ANY },
    { CKA_SIGN, ANY, YES },
    { CKA_DECRYPT, ANY, RSA_ONLY },
    { CKA_SIGN_RECOVER, ANY, NO },
    { CKA_UNWRAP, ANY, NO },
    { CKA_SENSITIVE, ANY, YES },
    { CKA_EXTRACTABLE, ANY, NO },
    { CKA_ALWAYS_AUTHENTICATE, ANY, NO },
    { CKA_WRAP_WITH_TRUSTED, ANY, NO },
};

/* Attributes a key generation makes itself: read-only in its templates. */
static const CK_ATTRIBUTE_TYPE made[] = {
    CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
    CKA_MODULUS, CKA_EC_POINT, CKA_VALUE, CKA_PUBLIC_KEY_INFO, CKA_CHECK_VALUE,
    CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
    CKA_COEFFICIENT,
};

/* Attributes a key template may carry: the fixed ones, what is read
 * (class, key type, size, exponent, curve) and what is kept or named by
 * the card (label; CKA_ID, the card's own: README.md). */
static bool known(CK_ATTRIBUTE_TYPE t)
{
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (fixed[i].type == t)
            return true;
    switch (t) {
    case CKA_CLASS: case CKA_KEY_TYPE: case CKA_LABEL: case CKA_ID:
    case CKA_MODULUS_BITS: case CKA_PUBLIC_EXPONENT: case CKA_EC_PARAMS:
        return true;
    case CKA_SUBJECT: case CKA_START_DATE: case CKA_END_DATE:
        return true;        /* accepted empty only (check_template) */
    default:
        return false;
    }
}

static CK_RV check_template(const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_CLASS cls,
                            CK_KEY_TYPE kt)
{
    CK_RV rv = p11_template_check(t, n);
    if (rv != CKR_OK)
        return rv;
    bool pub = cls == CKO_PUBLIC_KEY;
    for (CK_ULONG i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(made) / sizeof(made[0]); j++)
            if (made[j] == t[i].type)
                return CKR_ATTRIBUTE_READ_ONLY;
        if (!known(t[i].type))
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if ((t[i].type == CKA_SUBJECT || t[i].type == CKA_START_DATE ||
             t[i].type == CKA_END_DATE) && t[i].ulValueLen)
            return CKR_TEMPLATE_INCONSISTENT;   /* the card keeps none for a key */
    }
    CK_ULONG v;
    bool b, found;
    if ((rv = p11_template_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK)
        return rv;
    if (found && v != cls)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_template_ulong(t, n, CKA_KEY_TYPE, &v, &found)) != CKR_OK)
        return rv;
    if (found && v != kt)
        return CKR_TEMPLATE_INCONSISTENT;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        enum fixed want = pub ? fixed[i].pub : fixed[i].priv;
        if (want == ANY)
            continue;
        if ((rv = p11_template_bool(t, n, fixed[i].type, &b, &found)) != CKR_OK)
            return rv;
        bool is = want == YES || (want == RSA_ONLY && kt == CKK_RSA);
        /* CKA_TOKEN defaults to false: a session key, which the card
         * cannot make. Other defaults are the token's to choose. */
        if (!found && fixed[i].type == CKA_TOKEN)
            return CKR_TEMPLATE_INCONSISTENT;
        if (found && b != is) {
            p11_trace("C_GenerateKeyPair: attribute 0x%lx cannot be %s on this card",
                      (unsigned long)fixed[i].type, b ? "true" : "false");
            return CKR_TEMPLATE_INCONSISTENT;
        }
    }
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
    CK_RV rv = check_template(pub, npub, CKO_PUBLIC_KEY, kt);
    if (rv == CKR_OK)
        rv = check_template(priv, npriv, CKO_PRIVATE_KEY, kt);
    if (rv != CKR_OK)
        return rv;

    /* The objects checked first: the new key joins them (p11_cache_added). */
    rv = p11_token_objects(s);
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
    if (rv != CKR_OK) {
        card_container_clear(&made);
        goto out;
    }
    /* The new key joins the cached objects as a reading would show it
     * (a pending key may leave a profile's counter as it was: G's counts
     * committed entries only). */
    if ((rv = p11_cache_added(s, &made)) != CKR_OK)
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
