/* object.c: the objects of a card (a certificate, a public key and a
 * private key per container, linked by CKA_ID; attributes in
 * objattrs.c), C_GetAttributeValue, C_SetAttributeValue and
 * C_FindObjects*. Handles are unique across slots and kept for an object
 * while it exists, across cache refreshes. When objects are checked
 * against the card: README.md. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

void p11_objects_free(struct p11_slot *s)
{
    for (size_t i = 0; i < s->nobj; i++)
        p11_attrs_free(&s->obj[i].attrs);
    free(s->obj);
    s->obj = NULL;
    s->nobj = 0;
}

static CK_OBJECT_HANDLE old_handle(const struct p11_slot *s, enum p11_kind kind,
                                   const struct card_container *c)
{
    for (size_t i = 0; i < s->nobj; i++) {
        const struct p11_attr *id = p11_attrs_get0(&s->obj[i].attrs, CKA_ID);
        if (s->obj[i].kind == kind && id && id->len == c->id_len &&
            memcmp(id->val, c->id, c->id_len) == 0)
            return s->obj[i].handle;
    }
    return 0;
}

CK_RV p11_objects_build(struct p11_slot *s)
{
    size_t slot_index = (size_t)(s - p11_g.slots);
    struct p11_object *obj = calloc(s->cont.n * 3 + 1, sizeof(*obj));
    size_t n = 0;
    if (!obj)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < s->cont.n; i++) {
        const struct card_container *c = &s->cont.c[i];
        for (int k = P11_CERT; k <= P11_PRIV; k++) {
            if (k == P11_CERT && !c->cert)
                continue;
            struct p11_object *o = &obj[n];
            o->kind = (enum p11_kind)k;
            o->ci = i;
            CK_RV rv = p11_object_attrs_build(c, o->kind, p11_label_get0(s, c->id, c->id_len),
                                              &o->attrs);
            if (rv != CKR_OK) {
                /* A certificate the host cannot parse is left out, not fatal. */
                p11_attrs_free(&o->attrs);
                if (rv == CKR_HOST_MEMORY) {
                    for (size_t j = 0; j < n; j++)
                        p11_attrs_free(&obj[j].attrs);
                    free(obj);
                    return rv;
                }
                p11_trace("container %u: object %d left out", c->ref, k);
                continue;
            }
            o->handle = old_handle(s, o->kind, c);
            if (!o->handle)
                o->handle = ((CK_OBJECT_HANDLE)(slot_index + 1) << 24) | (s->next_handle++ & 0xffffff);
            n++;
        }
    }
    p11_objects_free(s);
    s->obj = obj;
    s->nobj = n;
    return CKR_OK;
}

void p11_label_set(struct p11_slot *s, const uint8_t *id, size_t idlen,
                   const void *label, size_t len)
{
    size_t i;
    if (idlen > sizeof(s->labels[0].id))
        return;
    for (i = 0; i < s->nlabels; i++)
        if (s->labels[i].id_len == idlen && memcmp(s->labels[i].id, id, idlen) == 0)
            break;
    if (i == s->nlabels) {
        if (s->nlabels == sizeof(s->labels) / sizeof(s->labels[0]))
            i = 0;      /* the oldest goes */
        else
            s->nlabels++;
    }
    struct p11_label *l = &s->labels[i];
    memcpy(l->id, id, idlen);
    l->id_len = idlen;
    len = len < sizeof(l->label) - 1 ? len : sizeof(l->label) - 1;
    memcpy(l->label, label, len);
    l->label[len] = '\0';
}

const char *p11_label_get0(const struct p11_slot *s, const uint8_t *id, size_t idlen)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (s->labels[i].id_len == idlen && memcmp(s->labels[i].id, id, idlen) == 0 &&
            s->labels[i].label[0])
            return s->labels[i].label;
    return NULL;
}

/* Values equal to what the object has are accepted (hosts such as
 * Mozilla set CKA_ID to what it already is); a key's label is kept until
 * its certificate is written; anything else is read-only. */
CK_RV p11_set_attribute_value(struct p11_session *ss, CK_OBJECT_HANDLE h,
                              CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    CK_RV rv = p11_template_check(tmpl, n);
    if (rv != CKR_OK)
        return rv;
    if ((rv = p11_token_objects(s)) != CKR_OK)
        return rv;
    p11_token_end(s);
    struct p11_object *o = p11_object_get0(s, h, s->logged_in);
    if (!o)
        return CKR_OBJECT_HANDLE_INVALID;
    const struct card_container *c = &s->cont.c[o->ci];
    for (CK_ULONG i = 0; i < n; i++) {
        const struct p11_attr *a = p11_attrs_get0(&o->attrs, tmpl[i].type);
        if (a && !a->sensitive && a->len == tmpl[i].ulValueLen &&
            (!a->len || memcmp(a->val, tmpl[i].pValue, a->len) == 0))
            continue;
        if (tmpl[i].type == CKA_LABEL && o->kind != P11_CERT && !c->cert)
            continue;
        p11_trace("C_SetAttributeValue: attribute 0x%lx is read-only", (unsigned long)tmpl[i].type);
        return a ? CKR_ATTRIBUTE_READ_ONLY : CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (!(ss->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    const CK_ATTRIBUTE *lab = p11_template_find(tmpl, n, CKA_LABEL);
    if (lab && o->kind != P11_CERT && !c->cert) {
        p11_label_set(s, c->id, c->id_len, lab->pValue, lab->ulValueLen);
        return p11_objects_build(s);
    }
    return CKR_OK;
}

struct p11_object *p11_object_get0(struct p11_slot *s, CK_OBJECT_HANDLE h, bool logged_in)
{
    for (size_t i = 0; i < s->nobj; i++)
        if (s->obj[i].handle == h) {
            if (s->obj[i].kind == P11_PRIV && !logged_in)
                return NULL;
            return &s->obj[i];
        }
    return NULL;
}

CK_RV p11_get_attribute_value(struct p11_session *ss, CK_OBJECT_HANDLE h,
                              CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    if (!tmpl && n)
        return CKR_ARGUMENTS_BAD;
    /* From the objects this session's last check saw (see README.md);
     * a handle not among them sends it to the card again. */
    struct p11_object *o = ss->view ? p11_object_get0(s, h, s->logged_in) : NULL;
    if (!o) {
        CK_RV rv = p11_token_objects(s);
        if (rv != CKR_OK)
            return rv;
        p11_token_end(s);
        ss->view = true;
        o = p11_object_get0(s, h, s->logged_in);
    }
    if (!o)
        return CKR_OBJECT_HANDLE_INVALID;
    return p11_attrs_fill(&o->attrs, tmpl, n);
}

CK_RV p11_get_object_size(struct p11_session *ss, CK_OBJECT_HANDLE h, CK_ULONG *size)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    if (!size)
        return CKR_ARGUMENTS_BAD;
    struct p11_object *o = p11_object_get0(s, h, s->logged_in);
    if (!o)
        return CKR_OBJECT_HANDLE_INVALID;
    CK_ULONG total = 0;
    for (size_t i = 0; i < o->attrs.n; i++)
        total += o->attrs.a[i].len;
    *size = total;
    return CKR_OK;
}

/* A search that may match a key the objects leave out (one without a
 * certificate on a card that finds those only when asked): it may ask
 * for keys, and names no CKA_ID the objects already hold. */
static bool wants_pending(const struct p11_slot *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    const CK_ATTRIBUTE *cls = p11_template_find(tmpl, n, CKA_CLASS);
    if (cls && cls->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
        CK_OBJECT_CLASS k = *(const CK_OBJECT_CLASS *)cls->pValue;
        if (k != CKO_PRIVATE_KEY && k != CKO_PUBLIC_KEY)
            return false;
    }
    const CK_ATTRIBUTE *id = p11_template_find(tmpl, n, CKA_ID);
    if (!id)
        return true;
    for (size_t i = 0; i < s->cont.n; i++)
        if (s->cont.c[i].id_len == id->ulValueLen &&
            !memcmp(s->cont.c[i].id, id->pValue, id->ulValueLen))
            return false;
    return true;
}

CK_RV p11_find_init(struct p11_session *ss, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    if (ss->finding)
        return CKR_OPERATION_ACTIVE;
    if (!tmpl && n)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++)
        if (tmpl[i].ulValueLen && !tmpl[i].pValue)
            return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_token_objects(s);
    if (rv != CKR_OK)
        return rv;
    if (wants_pending(s, tmpl, n))
        rv = p11_cache_pending(s);
    p11_token_end(s);
    if (rv != CKR_OK)
        return rv;
    ss->view = true;
    CK_OBJECT_HANDLE *found = calloc(s->nobj + 1, sizeof(*found));
    if (!found)
        return CKR_HOST_MEMORY;
    size_t nf = 0;
    for (size_t i = 0; i < s->nobj; i++) {
        if (s->obj[i].kind == P11_PRIV && !s->logged_in)
            continue;
        if (p11_attrs_match(&s->obj[i].attrs, tmpl, n))
            found[nf++] = s->obj[i].handle;
    }
    free(ss->found);
    ss->found = found;
    ss->nfound = nf;
    ss->foundpos = 0;
    ss->finding = true;
    return CKR_OK;
}

CK_RV p11_find(struct p11_session *ss, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count)
{
    if (!ss->finding)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!count || (!out && max))
        return CKR_ARGUMENTS_BAD;
    CK_ULONG n = 0;
    while (n < max && ss->foundpos < ss->nfound)
        out[n++] = ss->found[ss->foundpos++];
    *count = n;
    return CKR_OK;
}

CK_RV p11_find_final(struct p11_session *ss)
{
    if (!ss->finding)
        return CKR_OPERATION_NOT_INITIALIZED;
    free(ss->found);
    ss->found = NULL;
    ss->nfound = ss->foundpos = 0;
    ss->finding = false;
    return CKR_OK;
}
