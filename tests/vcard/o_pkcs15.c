/* o_pkcs15.c: the DER the AWP layout holds (EF.ATR, EF.DIR, ODF, TokenInfo,
 * AODF, PrKDF/PuKDF/CDF entries) and edits of the directory files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "tests/vcard/o_card.h"

static const uint8_t awp_aid[] = {
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0xF2, 0x50, 0x4F, 0x54, 0x20, 0x41, 0x57, 0x50 };
static const uint8_t root_aid[] = {
    0xA0, 0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x00, 0x00, 0xFE,
    0x00, 0x00, 0x01, 0x00 };

size_t vc_o_hdr(uint8_t *o, unsigned tag, size_t len)
{
    size_t n = 0;
    if (tag > 0xFFFF)
        o[n++] = (uint8_t)(tag >> 16);
    if (tag > 0xFF)
        o[n++] = (uint8_t)(tag >> 8);
    o[n++] = (uint8_t)tag;
    if (len < 0x80) {
        o[n++] = (uint8_t)len;
    } else if (len < 0x100) {
        o[n++] = 0x81;
        o[n++] = (uint8_t)len;
    } else {
        o[n++] = 0x82;
        o[n++] = (uint8_t)(len >> 8);
        o[n++] = (uint8_t)len;
    }
    return n;
}

/* A growing DER buffer; overflow is sticky and reported at the end. */
struct der {
    uint8_t *p;
    size_t n, cap;
    bool bad;
};

static void put(struct der *d, const void *v, size_t n)
{
    if (d->bad || n > d->cap - d->n) {
        d->bad = true;
        return;
    }
    memcpy(d->p + d->n, v, n);
    d->n += n;
}

static void put_tlv(struct der *d, unsigned tag, const void *v, size_t n)
{
    uint8_t h[8];
    put(d, h, vc_o_hdr(h, tag, n));
    put(d, v, n);
}

/* Wraps everything written since mark in tag. */
static void wrap(struct der *d, size_t mark, unsigned tag)
{
    uint8_t h[8];
    if (d->bad)
        return;
    size_t body = d->n - mark, hl = vc_o_hdr(h, tag, body);
    if (hl > d->cap - d->n) {
        d->bad = true;
        return;
    }
    memmove(d->p + mark + hl, d->p + mark, body);
    memcpy(d->p + mark, h, hl);
    d->n += hl;
}

static size_t done(struct der *d)
{
    return d->bad ? 0 : d->n;
}

size_t vc_o_enc_atr(uint8_t *out, size_t cap)
{
    /* I/O buffer sizes: send (the 5-byte header counted), send under SM,
     * receive, receive under SM. */
    static const uint8_t sizes[] = {
        0x02, 0x02, 0x04, 0x05, 0x02, 0x02, 0x04, 0x05,
        0x02, 0x02, 0x04, 0x00, 0x02, 0x02, 0x04, 0x00 };
    static const uint8_t pre[] = { 0x00, 0x01, 0x07, 0x01 };
    static const uint8_t caps[] = { 0x94, 0x01, 0xC0 };
    struct der d = { out, 0, cap, false };
    put_tlv(&d, 0x46, pre, sizeof pre);
    put_tlv(&d, 0x47, caps, sizeof caps);
    put_tlv(&d, 0x4F, root_aid, sizeof root_aid);
    put_tlv(&d, 0x45, sizes, sizeof sizes);
    put_tlv(&d, 0xE0, sizes, sizeof sizes);
    return done(&d);
}

size_t vc_o_enc_dir(uint8_t *out, size_t cap)
{
    struct der d = { out, 0, cap, false };
    put_tlv(&d, 0x4F, awp_aid, sizeof awp_aid);
    put_tlv(&d, 0x50, "AWP", 3);
    wrap(&d, 0, 0x61);
    return done(&d);
}

size_t vc_o_enc_odf(uint8_t *out, size_t cap)
{
    static const struct { uint8_t tag; uint16_t fid; } e[] = {
        { 0xA8, 0x7001 }, { 0xA0, 0x7002 }, { 0xA1, 0x7004 }, { 0xA4, 0x7005 } };
    struct der d = { out, 0, cap, false };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        uint8_t path[8] = { 0xA0, 6, 0x30, 4, 0x04, 2,
                            (uint8_t)(e[i].fid >> 8), (uint8_t)e[i].fid };
        path[0] = e[i].tag;
        put(&d, path, sizeof path);
    }
    return done(&d);
}

/* AlgorithmInfo: reference, PKCS#11 mechanism, NULL, operations, algRef. */
static void alg(struct der *d, uint8_t ref, unsigned mech, uint8_t ops_unused,
                uint8_t ops, uint8_t card_ref)
{
    size_t m = d->n;
    uint8_t v[2];
    put_tlv(d, 0x02, &ref, 1);
    v[0] = (uint8_t)(mech >> 8);
    v[1] = (uint8_t)mech;
    if (mech > 0xFF)
        put_tlv(d, 0x02, v, 2);
    else
        put_tlv(d, 0x02, v + 1, 1);
    put(d, "\x05\x00", 2);
    v[0] = ops_unused;
    v[1] = ops;
    put_tlv(d, 0x03, v, 2);
    put_tlv(d, 0x02, &card_ref, 1);
    wrap(d, m, 0x30);
}

size_t vc_o_enc_tokeninfo(uint8_t *out, size_t cap, const uint8_t serial[8],
                          const char *label)
{
    static const char manuf[] = "Oberthur Technologies";
    struct der d = { out, 0, cap, false };
    put(&d, "\x02\x01\x00", 3);
    put_tlv(&d, 0x04, serial, 8);
    put_tlv(&d, 0x0C, manuf, sizeof manuf - 1);
    put_tlv(&d, 0x80, label, strlen(label));
    put(&d, "\x03\x02\x05\x60", 4);           /* loginRequired, prnGeneration */
    size_t m = d.n;
    alg(&d, 1, 0x0001, 6, 0x40, 0x02);        /* RSA_PKCS sign: INTERNAL AUTH */
    alg(&d, 2, 0x0001, 2, 0x04, 0x1A);        /* RSA_PKCS decipher */
    alg(&d, 3, 0x000D, 6, 0x40, 0x32);        /* RSA_PKCS_PSS sign */
    alg(&d, 4, 0x1041, 6, 0x40, 0x44);        /* ECDSA sign */
    wrap(&d, m, 0xA2);
    wrap(&d, 0, 0x30);
    return done(&d);
}

static void pin_obj(struct der *d, const char *label, uint8_t id, uint8_t auth,
                    const uint8_t flags[2], uint8_t min, uint8_t ref)
{
    size_t m = d->n, m2;
    m2 = d->n;
    put_tlv(d, 0x0C, label, strlen(label));
    put(d, "\x03\x02\x06\x40", 4);             /* modifiable */
    if (auth)
        put_tlv(d, 0x04, &auth, 1);
    wrap(d, m2, 0x30);
    m2 = d->n;
    put_tlv(d, 0x04, &id, 1);
    wrap(d, m2, 0x30);
    m2 = d->n;
    put_tlv(d, 0x03, flags, 2);
    put(d, "\x0A\x01\x01", 3);                 /* ascii-numeric */
    put_tlv(d, 0x02, &min, 1);
    put(d, "\x02\x01\x08\x02\x01\x08", 6);     /* stored and max length 8 */
    uint8_t r[2] = { 0x00, ref };
    put_tlv(d, 0x80, r, 2);
    put(d, "\x04\x01\xFF", 3);                 /* padChar */
    wrap(d, m2, 0x30);
    wrap(d, m2, 0xA1);
    wrap(d, m, 0x30);
}

size_t vc_o_enc_aodf(uint8_t *out, size_t cap)
{
    /* local, initialized, needs-padding; the PUK also unblockingPin */
    static const uint8_t pin_flags[2] = { 0x02, 0x4C };
    static const uint8_t puk_flags[2] = { 0x01, 0x4E };
    struct der d = { out, 0, cap, false };
    pin_obj(&d, "User PIN", 0x01, 0x02, pin_flags, O_PIN_MIN, O_PIN_REF);
    pin_obj(&d, "PUK", 0x02, 0, puk_flags, O_PUK_LEN, O_PUK_REF);
    return done(&d);
}

static void common(struct der *d, const char *label, bool priv)
{
    size_t m = d->n;
    put_tlv(d, 0x0C, label, strlen(label));
    if (priv) {
        put(d, "\x03\x02\x07\x80", 4);         /* private */
        put(d, "\x04\x01\x01", 3);             /* authId: the user PIN */
    }
    wrap(d, m, 0x30);
}

static void common_key(struct der *d, const uint8_t id[20], const uint8_t *usage,
                       const uint8_t *access, uint8_t ref)
{
    size_t m = d->n;
    put_tlv(d, 0x04, id, 20);
    put(d, usage, 4);
    if (access)
        put(d, access, 4);
    uint8_t r[2] = { 0x00, (uint8_t)(0x80 | ref) };
    put_tlv(d, 0x02, r, 2);
    wrap(d, m, 0x30);
}

size_t vc_o_enc_prkdf(uint8_t *out, size_t cap, const EVP_PKEY *k, uint8_t ref)
{
    struct der d = { out, 0, cap, false };
    uint8_t id[20];
    char label[16];
    bool ec = EVP_PKEY_is_a(k, "EC");
    if (vc_o_key_id(k, id))
        return 0;
    snprintf(label, sizeof label, "Key %02X", ref);
    common(&d, label, true);
    /* RSA: decrypt, sign; EC: sign. Sensitive, always sensitive, never
     * extractable, local. */
    common_key(&d, id, (const uint8_t *)(ec ? "\x03\x02\x05\x20" : "\x03\x02\x05\x60"),
               (const uint8_t *)"\x03\x02\x03\xB8", ref);
    size_t m = d.n;
    put(&d, "\x30\x02\x04\x00", 4);            /* empty path: the key is an SDO */
    if (!ec) {
        unsigned bits = (unsigned)EVP_PKEY_get_bits(k);
        uint8_t b[2] = { (uint8_t)(bits >> 8), (uint8_t)bits };
        put_tlv(&d, 0x02, b, 2);
    }
    wrap(&d, m, 0x30);
    wrap(&d, m, 0xA1);
    wrap(&d, 0, ec ? 0xA0 : 0x30);
    return done(&d);
}

size_t vc_o_enc_pukdf(uint8_t *out, size_t cap, const EVP_PKEY *k, uint8_t ref)
{
    struct der d = { out, 0, cap, false };
    uint8_t id[20], *der = NULL;
    char label[16];
    bool ec = EVP_PKEY_is_a(k, "EC");
    if (vc_o_key_id(k, id))
        return 0;
    /* the public key held directly: RSAPublicKey, or the SPKI for EC */
    int dl = ec ? i2d_PUBKEY((EVP_PKEY *)k, &der) : i2d_PublicKey((EVP_PKEY *)k, &der);
    if (dl <= 0)
        return 0;
    snprintf(label, sizeof label, "Key %02X", ref);
    common(&d, label, false);
    common_key(&d, id, (const uint8_t *)(ec ? "\x03\x02\x06\x40" : "\x03\x02\x01\x82"),
               NULL, ref);
    size_t m = d.n;
    put_tlv(&d, 0xA0, der, (size_t)dl);
    if (!ec) {
        unsigned bits = (unsigned)EVP_PKEY_get_bits(k);
        uint8_t b[2] = { (uint8_t)(bits >> 8), (uint8_t)bits };
        put_tlv(&d, 0x02, b, 2);
    }
    wrap(&d, m, 0x30);
    wrap(&d, m, 0xA1);
    wrap(&d, 0, ec ? 0xA0 : 0x30);
    OPENSSL_free(der);
    return done(&d);
}

size_t vc_o_enc_cdf(uint8_t *out, size_t cap, const uint8_t id[20],
                    const char *label, uint16_t fid)
{
    struct der d = { out, 0, cap, false };
    common(&d, label, false);
    size_t m = d.n;
    put_tlv(&d, 0x04, id, 20);
    wrap(&d, m, 0x30);
    m = d.n;
    uint8_t path[6] = { 0x30, 4, 0x04, 2, (uint8_t)(fid >> 8), (uint8_t)fid };
    put(&d, path, sizeof path);
    wrap(&d, m, 0x30);
    wrap(&d, m, 0xA1);
    wrap(&d, 0, 0x30);
    return done(&d);
}

/* Length of one top-level entry at p (0: padding or malformed). */
static size_t entry_len(const uint8_t *p, size_t n)
{
    if (n < 2 || p[0] == 0x00 || p[0] == 0xFF)
        return 0;
    size_t h = 2, len = p[1];
    if (p[1] == 0x81) {
        if (n < 3)
            return 0;
        len = p[2];
        h = 3;
    } else if (p[1] == 0x82) {
        if (n < 4)
            return 0;
        len = o_be16(p + 2);
        h = 4;
    } else if (p[1] > 0x82) {
        return 0;
    }
    return h + len <= n ? h + len : 0;
}

size_t vc_o_df_used(const uint8_t *buf, size_t len)
{
    size_t off = 0, e;
    while ((e = entry_len(buf + off, len - off)) != 0)
        off += e;
    return off;
}

int vc_o_df_append(struct o_card *c, uint16_t fid, const uint8_t *e, size_t n)
{
    int i = vc_o_find(c, fid);
    if (i < 0)
        return -1;
    struct o_file *f = &c->files[i];
    size_t used = vc_o_df_used(f->data, f->size);
    if (n > f->size - used)
        return -1;
    memcpy(f->data + used, e, n);
    return 0;
}

static bool contains(const uint8_t *h, size_t hn, const uint8_t *pat, size_t pn)
{
    for (size_t i = 0; i + pn <= hn; i++)
        if (memcmp(h + i, pat, pn) == 0)
            return true;
    return false;
}

/* Drops the entries naming path_fid (a CDF path) or key reference ref. */
int vc_o_df_remove(struct o_card *c, uint16_t fid, uint16_t path_fid, uint8_t ref)
{
    int i = vc_o_find(c, fid);
    if (i < 0)
        return -1;
    struct o_file *f = &c->files[i];
    uint8_t pat_path[6] = { 0x30, 4, 0x04, 2, (uint8_t)(path_fid >> 8), (uint8_t)path_fid };
    uint8_t pat_ref[4] = { 0x02, 2, 0x00, (uint8_t)(0x80 | ref) };
    size_t off = 0, e, removed = 0;
    while ((e = entry_len(f->data + off, f->size - off)) != 0) {
        bool hit = path_fid ? contains(f->data + off, e, pat_path, 6)
                            : contains(f->data + off, e, pat_ref, 4);
        if (hit) {
            memmove(f->data + off, f->data + off + e, f->size - off - e);
            memset(f->data + f->size - e, 0, e);
            removed++;
        } else {
            off += e;
        }
    }
    return (int)removed;
}

int vc_o_cdf_first(const struct o_card *c, uint16_t *fid)
{
    int i = vc_o_find(c, O_FID_CDF);
    if (i < 0)
        return -1;
    const struct o_file *f = &c->files[i];
    size_t e = entry_len(f->data, f->size);
    for (size_t k = 0; k + 6 <= e; k++)
        if (f->data[k] == 0x30 && f->data[k + 1] == 4 && f->data[k + 2] == 0x04 &&
            f->data[k + 3] == 2) {
            *fid = o_be16(f->data + k + 4);
            return 0;
        }
    return -1;
}
