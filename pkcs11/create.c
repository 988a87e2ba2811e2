/* create.c: C_CreateObject for X.509 certificates of keys already on the
 * card (-> card_write_cert), and C_DestroyObject. Other classes cannot
 * be made on these cards. */
#include <string.h>
#include <openssl/x509.h>

#include "card/x509.h"
#include "pkcs11/p11.h"

/* What the card's objects are read back with (card/x509.c) must read the
 * certificate, or it would be written and then hidden (CKR_DEVICE_ERROR
 * on every read) with the key never to get its right one. OpenSSL's
 * decoder is more lenient (BER lengths, for one). */
static bool readable(const uint8_t *der, size_t len)
{
    struct card_cert_parts parts;
    struct card_container k;
    memset(&k, 0, sizeof(k));
    bool ok = card_cert_whole(der, len) && card_cert_split(der, len, &parts) == CARD_OK &&
              card_cert_pubkey(der, len, &k) == CARD_OK;
    card_container_clear(&k);
    return ok;
}

CK_RV p11_cert_template(const CK_ATTRIBUTE *t, CK_ULONG n, const uint8_t **der,
                        size_t *len, const CK_ATTRIBUTE **id, const CK_ATTRIBUTE **label)
{
    CK_RV rv = p11_template_check(t, n);
    CK_ULONG v;
    bool b, found;
    if (rv != CKR_OK)
        return rv;
    if ((rv = p11_template_ulong(t, n, CKA_CLASS, &v, &found)) != CKR_OK)
        return rv;
    if (!found)
        return CKR_TEMPLATE_INCOMPLETE;
    if (v != CKO_CERTIFICATE)
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_template_ulong(t, n, CKA_CERTIFICATE_TYPE, &v, &found)) != CKR_OK)
        return rv;
    if (!found)
        return CKR_TEMPLATE_INCOMPLETE;
    if (v != CKC_X_509)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((rv = p11_template_bool(t, n, CKA_TOKEN, &b, &found)) != CKR_OK)
        return rv;
    if (found && !b)
        return CKR_TEMPLATE_INCONSISTENT;       /* no session objects */
    if ((rv = p11_template_bool(t, n, CKA_PRIVATE, &b, &found)) != CKR_OK)
        return rv;
    if (found && b)
        return CKR_TEMPLATE_INCONSISTENT;       /* certificates are public */
    const CK_ATTRIBUTE *val = p11_template_find(t, n, CKA_VALUE);
    if (!val)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!val->ulValueLen)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    const unsigned char *p = val->pValue;
    X509 *x = d2i_X509(NULL, &p, (long)val->ulValueLen);
    bool whole = x && p == (const unsigned char *)val->pValue + val->ulValueLen;
    X509_free(x);
    if (!whole || !readable(val->pValue, val->ulValueLen))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *der = val->pValue;
    *len = val->ulValueLen;
    *id = p11_template_find(t, n, CKA_ID);
    *label = p11_template_find(t, n, CKA_LABEL);
    return CKR_OK;
}

/* The container whose key the certificate certifies. A CKA_ID in the
 * template cannot name another: the card's id is the key's hash, so the
 * key decides, and the new object reports the card's id. */
static CK_RV find_container(struct p11_slot *s, const uint8_t *der, size_t len,
                            const struct card_container **out)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (!x)
        return rv;
    EVP_PKEY *cert_key = X509_get0_pubkey(x);
    for (size_t i = 0; i < s->cont.n && cert_key; i++) {
        const struct card_container *c = &s->cont.c[i];
        EVP_PKEY *k = p11_container_pkey(c);
        bool same = k && EVP_PKEY_eq(k, cert_key) == 1;
        EVP_PKEY_free(k);
        if (same) {
            *out = c;
            rv = CKR_OK;
            break;
        }
    }
    X509_free(x);
    return rv;
}

CK_RV p11_create_object(struct p11_session *ss, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE *out)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    const uint8_t *der;
    size_t len;
    const CK_ATTRIBUTE *id, *lab;
    if (!out || (!tmpl && n))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_cert_template(tmpl, n, &der, &len, &id, &lab);
    (void)id;
    if (rv != CKR_OK)
        return rv;
    if (!(ss->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if (!s->logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    rv = p11_token_objects(s);
    if (rv != CKR_OK)
        return rv;
    const struct card_container *c;
    rv = find_container(s, der, len, &c);
    /* Its key may be one the objects leave out until asked for. */
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID && !s->pending && card_lazy_pending(s->card) &&
        (rv = p11_cache_pending(s)) == CKR_OK)
        rv = find_container(s, der, len, &c);
    if (rv != CKR_OK) {
        p11_trace("C_CreateObject: no key on the card matches the certificate");
        goto out;
    }
    char label[64];
    size_t ll = 0;
    if (lab && lab->ulValueLen) {
        ll = lab->ulValueLen < sizeof(label) - 1 ? lab->ulValueLen : sizeof(label) - 1;
        memcpy(label, lab->pValue, ll);
    } else {
        const char *asked = p11_label_get0(s, c->id, c->id_len);
        const char *src = asked ? asked : c->label;
        ll = strnlen(src, sizeof(label) - 1);
        memcpy(label, src, ll);
    }
    label[ll] = '\0';
    uint8_t cid[20];
    size_t cidlen = c->id_len < sizeof(cid) ? c->id_len : sizeof(cid);
    memcpy(cid, c->id, cidlen);
    rv = p11_card_result(s, card_write_cert(s->card, cid, cidlen, der, len, label));
    if (rv != CKR_OK)
        goto out;
    p11_label_set(s, cid, cidlen, "", 0);      /* the card holds the label now */
    if ((rv = p11_cache_certified(s, (size_t)(c - s->cont.c), der, len, label)) != CKR_OK)
        goto out;
    rv = CKR_DEVICE_ERROR;
    for (size_t i = 0; i < s->nobj; i++) {
        const struct p11_attr *a = p11_attrs_get0(&s->obj[i].attrs, CKA_ID);
        if (s->obj[i].kind == P11_CERT && a && a->len == cidlen && !memcmp(a->val, cid, cidlen)) {
            *out = s->obj[i].handle;
            rv = CKR_OK;
            ss->view = true;    /* the objects were read just now */
        }
    }
out:
    p11_token_end(s);
    return rv;
}

CK_RV p11_destroy_object(struct p11_session *ss, CK_OBJECT_HANDLE h)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    CK_RV rv = p11_token_objects(s);
    if (rv != CKR_OK)
        return rv;
    struct p11_object *o = p11_object_get0(s, h, s->logged_in);
    if (!o) {
        rv = CKR_OBJECT_HANDLE_INVALID;
        goto out;
    }
    if (!s->logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto out;
    }
    const struct card_container *c = &s->cont.c[o->ci];
    uint8_t cid[20];
    size_t cidlen = c->id_len < sizeof(cid) ? c->id_len : sizeof(cid);
    memcpy(cid, c->id, cidlen);
    int crv;
    switch (o->kind) {
    case P11_CERT:
        crv = card_delete_cert(s->card, cid, cidlen);
        break;
    case P11_PRIV:
        crv = card_delete_key(s->card, cid, cidlen);
        break;
    default:
        /* The public key goes with its private key, never alone. */
        rv = CKR_ACTION_PROHIBITED;
        goto out;
    }
    size_t ci = o->ci;
    bool whole = o->kind == P11_PRIV;
    rv = p11_card_result(s, crv);
    if (rv == CKR_OK)
        rv = p11_cache_deleted(s, ci, whole);
out:
    p11_token_end(s);
    return rv;
}
