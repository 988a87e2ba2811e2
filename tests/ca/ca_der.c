/* ca_der.c: a few fields of CMP messages that OpenSSL 3.0 parses but does
 * not expose (the certTemplate's publicKey; the header's protectionAlg and
 * senderKID; extraCerts), read from the DER with bounds checks. */
#include "tests/ca/ca.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>

struct tlv {
    const uint8_t *start;   /* identifier octet */
    const uint8_t *content;
    long len;               /* content length */
    long total;             /* whole TLV */
    int tag, cls, cons;
};

/* Reads one TLV at *p (definite lengths only); advances *p past it. */
static int next(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
    const uint8_t *q = *p;
    long len;
    int tag, cls, ret;

    if (q >= end)
        return -1;
    ret = ASN1_get_object(&q, &len, &tag, &cls, end - q);
    if ((ret & 0x80) || ret == 0x21 || len < 0 || len > end - q)
        return -1;
    t->start = *p;
    t->content = q;
    t->len = len;
    t->total = (long)(q - *p) + len;
    t->tag = tag;
    t->cls = cls;
    t->cons = (ret & V_ASN1_CONSTRUCTED) != 0;
    *p = q + len;
    return 0;
}

static int is_ctx(const struct tlv *t, int tag)
{
    return t->cls == V_ASN1_CONTEXT_SPECIFIC && t->tag == tag && t->cons;
}

/* publicKey [6] IMPLICIT SubjectPublicKeyInfo: retag as SEQUENCE, decode. */
EVP_PKEY *ca_template_pubkey(const OSSL_CRMF_CERTTEMPLATE *tmpl)
{
    unsigned char *der = NULL;
    const uint8_t *p, *end;
    struct tlv outer, t;
    EVP_PKEY *pk = NULL;
    int n = i2d_OSSL_CRMF_CERTTEMPLATE((OSSL_CRMF_CERTTEMPLATE *)tmpl, &der);

    if (n <= 0)
        return NULL;
    p = der;
    end = der + n;
    if (next(&p, end, &outer) != 0 || outer.tag != V_ASN1_SEQUENCE)
        goto out;
    p = outer.content;
    end = outer.content + outer.len;
    while (p < end) {
        if (next(&p, end, &t) != 0)
            break;
        if (is_ctx(&t, 6)) {
            uint8_t *copy = malloc((size_t)t.total);
            const uint8_t *c = copy;

            if (copy == NULL)
                break;
            memcpy(copy, t.start, (size_t)t.total);
            copy[0] = 0x30;
            pk = d2i_PUBKEY(NULL, &c, t.total);
            free(copy);
            break;
        }
    }
out:
    OPENSSL_free(der);
    return pk;
}

static int header(const struct tlv *hdr, struct ca_msg_info *info)
{
    const uint8_t *p = hdr->content, *end = hdr->content + hdr->len;
    struct tlv t, in;

    while (p < end) {
        if (next(&p, end, &t) != 0)
            return -1;
        if (is_ctx(&t, 1)) {            /* protectionAlg */
            const uint8_t *q = t.content, *qe = t.content + t.len;
            struct tlv oid;
            ASN1_OBJECT *obj;
            const uint8_t *o;

            if (next(&q, qe, &in) != 0 || in.tag != V_ASN1_SEQUENCE)
                return -1;
            q = in.content;
            if (next(&q, in.content + in.len, &oid) != 0
                || oid.tag != V_ASN1_OBJECT)
                return -1;
            o = oid.start;
            obj = d2i_ASN1_OBJECT(NULL, &o, oid.total);
            if (obj == NULL)
                return -1;
            info->prot_nid = OBJ_obj2nid(obj);
            ASN1_OBJECT_free(obj);
        } else if (is_ctx(&t, 2)) {     /* senderKID */
            const uint8_t *q = t.content;

            if (next(&q, t.content + t.len, &in) != 0
                || in.tag != V_ASN1_OCTET_STRING
                || in.len >= (long)sizeof(info->kid))
                return -1;
            memcpy(info->kid, in.content, (size_t)in.len);
            info->kid_len = (size_t)in.len;
        }
    }
    return 0;
}

static int extra_certs(const struct tlv *t, struct ca_msg_info *info)
{
    const uint8_t *p = t->content, *end = t->content + t->len;
    struct tlv seq, c;

    if (next(&p, end, &seq) != 0 || seq.tag != V_ASN1_SEQUENCE)
        return -1;
    info->extra = sk_X509_new_null();
    if (info->extra == NULL)
        return -1;
    p = seq.content;
    end = seq.content + seq.len;
    while (p < end) {
        const uint8_t *q;
        X509 *x;

        if (next(&p, end, &c) != 0)
            return -1;
        q = c.start;
        x = d2i_X509(NULL, &q, c.total);
        if (x == NULL || !sk_X509_push(info->extra, x)) {
            X509_free(x);
            return -1;
        }
    }
    return 0;
}

int ca_msg_info(const uint8_t *der, size_t len, struct ca_msg_info *info)
{
    const uint8_t *p = der, *end = der + len;
    struct tlv msg, hdr, t;

    memset(info, 0, sizeof(*info));
    info->prot_nid = NID_undef;
    if (len > 0x7fffffff || next(&p, end, &msg) != 0 || msg.tag != V_ASN1_SEQUENCE)
        return -1;
    p = msg.content;
    end = msg.content + msg.len;
    if (next(&p, end, &hdr) != 0 || hdr.tag != V_ASN1_SEQUENCE
        || header(&hdr, info) != 0
        || next(&p, end, &t) != 0)      /* body */
        goto fail;
    while (p < end) {
        if (next(&p, end, &t) != 0)
            goto fail;
        if (is_ctx(&t, 1) && extra_certs(&t, info) != 0)
            goto fail;
    }
    return 0;
fail:
    ca_msg_info_free(info);
    return -1;
}

void ca_msg_info_free(struct ca_msg_info *info)
{
    sk_X509_pop_free(info->extra, X509_free);
    info->extra = NULL;
}
