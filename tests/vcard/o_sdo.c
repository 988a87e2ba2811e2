/* o_sdo.c: secure data objects of profile O: GET DATA of the PIN, key and
 * security environment SDOs, PUT DATA (key parameters, deletion) and
 * GENERATE ASYMMETRIC KEY PAIR. Keys are real OpenSSL key pairs. */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/o_card.h"

#define CLS_CHV 0x01
#define CLS_PRV 0x10
#define CLS_PUB 0x20
#define CLS_SE  0x7B

static const uint8_t p256_oid[] = {
    0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

size_t vc_o_key_size(const EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "EC"))
        return 32;
    return (size_t)EVP_PKEY_get_size(k);
}

/* The RSA modulus (no leading zeros) or the EC point 04||X||Y. */
static size_t pub_value(const EVP_PKEY *k, uint8_t *out, size_t cap)
{
    if (EVP_PKEY_is_a(k, "EC")) {
        size_t n = 0;
        if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             out, cap, &n))
            return 0;
        return n;
    }
    BIGNUM *n = NULL;
    if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n))
        return 0;
    size_t len = (size_t)BN_num_bytes(n);
    if (len > cap)
        len = 0;
    else
        BN_bn2bin(n, out);
    BN_free(n);
    return len;
}

int vc_o_key_id(const EVP_PKEY *k, uint8_t id[20])
{
    uint8_t v[600];
    size_t n = pub_value(k, v, sizeof v);
    if (n == 0)
        return -1;
    SHA1(v, n, id);
    return 0;
}

size_t vc_o_enc_7f49(const EVP_PKEY *k, uint8_t *out, size_t cap)
{
    uint8_t body[600];
    size_t b = 0;
    if (EVP_PKEY_is_a(k, "EC")) {
        uint8_t pt[80];
        size_t n = pub_value(k, pt, sizeof pt);
        if (n == 0)
            return 0;
        b += vc_o_hdr(body, 0x86, n);
        memcpy(body + b, pt, n);
        b += n;
    } else {
        uint8_t mod[520], e[8];
        BIGNUM *be = NULL;
        size_t n = pub_value(k, mod, sizeof mod), el;
        if (n == 0 || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &be))
            return 0;
        el = (size_t)BN_num_bytes(be);
        if (el > sizeof e) {
            BN_free(be);
            return 0;
        }
        BN_bn2bin(be, e);
        BN_free(be);
        b += vc_o_hdr(body + b, 0x81, n);
        memcpy(body + b, mod, n);
        b += n;
        b += vc_o_hdr(body + b, 0x82, el);
        memcpy(body + b, e, el);
        b += el;
    }
    uint8_t h[8];
    size_t hl = vc_o_hdr(h, 0x7F49, b);
    if (hl + b > cap)
        return 0;
    memcpy(out, h, hl);
    memcpy(out + hl, body, b);
    return hl + b;
}

int vc_o_keygen(struct o_slot *s, enum o_keytype t, unsigned bits)
{
    EVP_PKEY *k = NULL;
    if (t == O_KEY_EC) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        BIGNUM *e = BN_bin2bn(s->exp_len ? s->exp : (const uint8_t *)"\x01\x00\x01",
                              s->exp_len ? s->exp_len : 3, NULL);
        if (ctx && e && EVP_PKEY_keygen_init(ctx) > 0 &&
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0 &&
            EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) > 0)
            EVP_PKEY_generate(ctx, &k);
        BN_free(e);
        EVP_PKEY_CTX_free(ctx);
    }
    if (!k)
        return -1;
    vc_clock_key_gen(k);
    s->key = k;
    s->pending = O_KEY_NONE;
    return 0;
}

/* One TLV: tag, DER length, value. */
static size_t tlv(uint8_t *o, unsigned tag, const uint8_t *v, size_t n)
{
    size_t h = vc_o_hdr(o, tag, n);
    memcpy(o + h, v, n);
    return h + n;
}

/* BF <class|80> <ref> L <body> */
static uint16_t answer_sdo(struct o_resp *r, uint8_t cls, uint8_t ref,
                           const uint8_t *body, size_t n)
{
    r->data = malloc(n + 8);
    if (!r->data)
        return SW_ERROR;
    r->len = vc_o_hdr(r->data, 0xBF0000u | (unsigned)(cls | 0x80) << 8 | ref, n);
    memcpy(r->data + r->len, body, n);
    r->len += n;
    return SW_OK;
}

/* A0 { A1 { 8C <acl> }, <extra> }: the SDO's descriptor. */
static size_t docp(uint8_t *o, const uint8_t *acl, size_t acl_len,
                   const uint8_t *extra, size_t extra_len)
{
    uint8_t rule[32], in[64];
    size_t r = tlv(rule, 0x8C, acl, acl_len);
    size_t n = tlv(in, 0xA1, rule, r);
    memcpy(in + n, extra, extra_len);
    return tlv(o, 0xA0, in, n + extra_len);
}

static uint16_t get_chv(struct o_card *c, uint8_t ref, unsigned tag, struct o_resp *r)
{
    const struct o_secret *s = ref == 1 ? &c->pin : ref == 4 ? &c->puk : NULL;
    uint8_t body[64];
    size_t n;
    if (!s)
        return SW_REF_NOT_FND;
    if (tag == 0x7F41) {
        uint8_t v[6] = { 0x80, 1, ref == 1 ? O_PIN_MAX : O_PUK_LEN,
                         0x81, 1, ref == 1 ? O_PIN_MIN : O_PUK_LEN };
        n = tlv(body, 0x7F41, v, sizeof v);
    } else if (tag == 0xA0) {
        /* change, verify, reset, put, get: the PIN is changed after the
         * PIN (SE 2), reset after the PUK (SE 4); the PUK is never. */
        static const uint8_t pin_acl[] = { 0x73, 0x12, 0x00, 0x14, 0xFF, 0x00 };
        static const uint8_t puk_acl[] = { 0x73, 0xFF, 0x00, 0xFF, 0xFF, 0x00 };
        uint8_t extra[6] = { 0x9A, 1, s->max, 0x9B, 1, s->tries };
        n = docp(body, ref == 1 ? pin_acl : puk_acl, sizeof pin_acl, extra, 6);
    } else {
        return SW_BAD_DATA;
    }
    return answer_sdo(r, CLS_CHV, ref, body, n);
}

static uint16_t get_key(struct o_card *c, uint8_t cls, uint8_t ref, unsigned tag,
                        struct o_resp *r)
{
    if (ref < 1 || ref > O_KEY_SLOTS || !c->slots[ref - 1].key)
        return SW_REF_NOT_FND;
    const EVP_PKEY *k = c->slots[ref - 1].key;
    if (tag == 0xA0) {
        /* sign, internal auth, decipher, generate, put, get */
        static const uint8_t acl[] = { 0x7B, 0x12, 0x12, 0x12, 0x12, 0x12, 0x00 };
        size_t sz = vc_o_key_size(k);
        uint8_t extra[4] = { 0x80, 2, (uint8_t)(sz >> 8), (uint8_t)sz };
        uint8_t body[64];
        size_t n = docp(body, acl, sizeof acl, extra, sizeof extra);
        return answer_sdo(r, cls, ref, body, n);
    }
    if (cls == CLS_PUB && tag == 0x7F49) {
        /* The bare public key template, as card/PROFILES.md says. */
        r->data = malloc(600);
        if (!r->data)
            return SW_ERROR;
        r->len = vc_o_enc_7f49(k, r->data, 600);
        return r->len ? SW_OK : SW_ERROR;
    }
    return SW_BAD_DATA;                 /* the private part never leaves */
}

static uint16_t get_se(uint8_t ref, unsigned tag, struct o_resp *r)
{
    uint8_t chv = ref == 2 ? O_PIN_REF : ref == 4 ? O_PUK_REF : 0;
    if (!chv)
        return SW_REF_NOT_FND;
    if (tag != CLS_SE)
        return SW_BAD_DATA;
    /* one authentication template: user password <chv> */
    uint8_t at[8] = { 0xA4, 6, 0x83, 1, chv, 0x95, 1, 0x08 }, body[16];
    size_t n = tlv(body, CLS_SE, at, sizeof at);
    return answer_sdo(r, CLS_SE, ref, body, n);
}

/* Reads a DER length (short, 81, 82) that must fit in what remains. */
static int rd_len(const uint8_t *d, size_t n, size_t *off, size_t *len)
{
    size_t o = *off;
    if (o >= n)
        return -1;
    if (d[o] < 0x80) {
        *len = d[o++];
    } else if (d[o] == 0x81 && o + 1 < n) {
        *len = d[o + 1];
        o += 2;
    } else if (d[o] == 0x82 && o + 2 < n) {
        *len = o_be16(d + o + 1);
        o += 3;
    } else {
        return -1;
    }
    if (*len > n - o)
        return -1;
    *off = o;
    return 0;
}

/* Reads one BER tag (1 or 2 bytes) and its length. */
static int rd_tl(const uint8_t *d, size_t n, size_t *off, unsigned *tag, size_t *len)
{
    size_t o = *off;
    if (o >= n)
        return -1;
    *tag = d[o++];
    if ((*tag & 0x1F) == 0x1F) {
        if (o >= n)
            return -1;
        *tag = *tag << 8 | d[o++];
    }
    if (rd_len(d, n, &o, len))
        return -1;
    *off = o;
    return 0;
}

/* 70 L BF <cls> <ref> L <inner>: finds the SDO header. */
static int sdo_header(const uint8_t *d, size_t n, uint8_t *cls, uint8_t *ref,
                      const uint8_t **inner, size_t *inner_len)
{
    size_t off = 0, len;
    unsigned tag;
    if (rd_tl(d, n, &off, &tag, &len) || tag != 0x70 || off + len != n)
        return -1;
    if (len < 4 || d[off] != 0xBF)
        return -1;
    *cls = d[off + 1] & 0x7F;
    *ref = d[off + 2];
    off += 3;
    if (rd_len(d, n, &off, &len) || off + len != n)
        return -1;
    *inner = d + off;
    *inner_len = len;
    return 0;
}

uint16_t vc_o_get_data(struct o_card *c, const struct o_apdu *a, struct o_resp *r)
{
    if (a->p1 != 0x3F || a->p2 != 0xFF)
        return SW_BAD_P1P2;
    size_t off = 0, len;
    unsigned tag;
    if (a->lc == 0)
        return SW_WRONG_LEN;
    if (rd_tl(a->data, a->lc, &off, &tag, &len) || tag != 0x4D || off + len != a->lc)
        return SW_BAD_DATA;
    uint8_t cls, ref;
    const uint8_t *in;
    size_t in_len;
    if (sdo_header(a->data + off, len, &cls, &ref, &in, &in_len))
        return SW_BAD_DATA;
    /* the tag asked for, followed by 80 ("all of it") */
    size_t o2 = 0;
    if (in_len < 2)
        return SW_BAD_DATA;
    tag = in[o2++];
    if ((tag & 0x1F) == 0x1F) {
        if (in_len < 3)
            return SW_BAD_DATA;
        tag = tag << 8 | in[o2++];
    }
    r->fixed = false;
    switch (cls) {
    case CLS_CHV: return get_chv(c, ref, tag, r);
    case CLS_PRV:
    case CLS_PUB: return get_key(c, cls, ref, tag, r);
    case CLS_SE:  return get_se(ref, tag, r);
    default:      return SW_REF_NOT_FND;
    }
}

static uint16_t delete_key(struct o_card *c, uint8_t ref, bool *persist)
{
    if (ref < 1 || ref > O_KEY_SLOTS)
        return SW_REF_NOT_FND;
    struct o_slot *s = &c->slots[ref - 1];
    if (!s->key && !s->pending)
        return SW_REF_NOT_FND;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    EVP_PKEY_free(s->key);
    memset(s, 0, sizeof *s);
    if (c->se_key == ref)
        c->se_tmpl = 0;
    vc_o_bump(c);
    *persist = true;
    return SW_OK;
}

uint16_t vc_o_put_data(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    if (a->p1 != 0x3F || a->p2 != 0xFF)
        return SW_BAD_P1P2;
    uint8_t cls, ref;
    const uint8_t *in;
    size_t in_len;
    if (a->lc == 0)
        return SW_WRONG_LEN;
    if (sdo_header(a->data, a->lc, &cls, &ref, &in, &in_len))
        return SW_BAD_DATA;
    if (cls != CLS_PRV && cls != CLS_PUB)
        return SW_SEC_STATUS;           /* PINs and SEs are issued, not put */
    if (in_len == 0)
        return delete_key(c, ref, persist);
    if (ref < 1 || ref > O_KEY_SLOTS)
        return SW_REF_NOT_FND;
    struct o_slot *s = &c->slots[ref - 1];
    size_t off = 0, len;
    unsigned tag;
    if (rd_tl(in, in_len, &off, &tag, &len) || off + len != in_len)
        return SW_BAD_DATA;
    const uint8_t *v = in + off;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    /* Parameters put on a reference that holds a key wait there unused:
     * the GENERATE that follows is what answers 6A 89. */
    if (cls == CLS_PRV) {
        /* A0 { 80 02 <modulus bytes> }: the size of the next RSA key */
        size_t o = 0, l2;
        unsigned t2;
        if (tag != 0xA0 || rd_tl(v, len, &o, &t2, &l2) || t2 != 0x80 || l2 != 2 ||
            o + l2 != len)
            return SW_BAD_DATA;
        uint16_t bytes = o_be16(v + o);
        if (bytes != 128 && bytes != 256)
            return SW_BAD_DATA;
        s->rsa_bytes = bytes;
        *persist = true;
        return SW_OK;
    }
    if (tag != 0x7F49)
        return SW_BAD_DATA;
    if (len == sizeof p256_oid && memcmp(v, p256_oid, len) == 0) {
        s->pending = O_KEY_EC;
        *persist = true;
        return SW_OK;
    }
    size_t o = 0, l2;
    unsigned t2;
    if (rd_tl(v, len, &o, &t2, &l2) || t2 != 0x82 || o + l2 != len ||
        l2 == 0 || l2 > sizeof s->exp || !(v[o + l2 - 1] & 1) ||
        (l2 == 1 && v[o] < 3))
        return SW_BAD_DATA;
    memcpy(s->exp, v + o, l2);
    s->exp_len = (uint8_t)l2;
    s->pending = O_KEY_RSA;
    *persist = true;
    return SW_OK;
}

uint16_t vc_o_generate(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    static const uint8_t hdr[] = { 0x70, 0x03, 0xBF, 0x90 };
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc != 5)
        return SW_WRONG_LEN;
    if (memcmp(a->data, hdr, sizeof hdr) != 0)
        return SW_BAD_DATA;
    uint8_t ref = a->data[4];
    if (ref < 1 || ref > O_KEY_SLOTS)
        return SW_REF_NOT_FND;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    struct o_slot *s = &c->slots[ref - 1];
    if (s->key)
        return SW_EXISTS;
    if (s->pending == O_KEY_NONE)
        return SW_REF_NOT_FND;          /* no public SDO parameters yet */
    unsigned bits = (s->rsa_bytes ? s->rsa_bytes : 256) * 8u;
    if (vc_o_keygen(s, (enum o_keytype)s->pending, bits))
        return SW_ERROR;
    vc_o_bump(c);
    *persist = true;
    return SW_OK;
}
