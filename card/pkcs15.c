/* pkcs15.c: PKCS#15 (ISO 7816-15) entries, DER in and out. Only what
 * profile O stores: RSA and EC private and public keys, X.509
 * certificates, PIN objects (read), the ODF and TokenInfo. */
#include <string.h>

#include "card/card.h"
#include "card/pkcs15.h"
#include "card/tlv.h"

#define BUF_MAX 1024

struct der {
    uint8_t b[BUF_MAX];
    size_t n;
    bool err;
};

static void put(struct der *d, uint32_t tag, const void *val, size_t len)
{
    size_t need = card_tlv_put(NULL, 0, tag, NULL, len);
    if (d->err || !need || d->n + need > BUF_MAX) {
        d->err = true;
        return;
    }
    card_tlv_put(d->b + d->n, BUF_MAX - d->n, tag, val, len);
    d->n += need;
}

static void put_der(struct der *d, uint32_t tag, const struct der *inner)
{
    if (inner->err)
        d->err = true;
    else
        put(d, tag, inner->b, inner->n);
}

static void put_uint(struct der *d, uint32_t tag, unsigned v)
{
    uint8_t b[5];
    size_t n = 0;
    b[n++] = 0;
    for (int s = 24; s >= 0; s -= 8)
        if (v >> s || n > 1)
            b[n++] = (uint8_t)(v >> s);
    /* Skip the leading 00 unless the high bit needs it. */
    if (n > 1 && !(b[1] & 0x80))
        put(d, tag, b + 1, n - 1);
    else if (n == 1)
        put(d, tag, b, 1);
    else
        put(d, tag, b, n);
}

static void put_bits(struct der *d, unsigned v, unsigned nbits)
{
    uint8_t b[3] = { 0 };
    size_t bytes = 0;
    unsigned last = 0;
    for (unsigned i = 0; i < nbits; i++)
        if (v & (1u << i))
            last = i + 1;
    bytes = (last + 7) / 8;
    for (unsigned i = 0; i < last; i++)
        if (v & (1u << i))
            b[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
    b[0] = (uint8_t)(bytes * 8 - last);
    put(d, 0x03, b, 1 + bytes);
}

static unsigned get_bits(const struct card_tlv *t)
{
    unsigned v = 0;
    for (size_t i = 1; i < t->len && i < 4; i++)
        for (unsigned b = 0; b < 8; b++)
            if (t->val[i] & (0x80 >> b))
                v |= 1u << ((i - 1) * 8 + b);
    return v;
}

static int get_uint(const struct card_tlv *t, unsigned *v)
{
    if (t->len == 0 || t->len > 4 || (t->val[0] & 0x80))
        return CARD_E_BAD_RESPONSE;
    *v = 0;
    for (size_t i = 0; i < t->len; i++)
        *v = *v << 8 | t->val[i];
    return CARD_OK;
}

static int get_str(const struct card_tlv *t, char *out, size_t cap)
{
    size_t n = t->len < cap - 1 ? t->len : cap - 1;
    memcpy(out, t->val, n);
    out[n] = 0;
    return CARD_OK;
}

static int get_oct(const struct card_tlv *t, uint8_t *out, size_t cap, size_t *n)
{
    if (t->len > cap)
        return CARD_E_BAD_RESPONSE;
    memcpy(out, t->val, t->len);
    *n = t->len;
    return CARD_OK;
}

/* Path ::= SEQUENCE { path OCTET STRING, ... } */
static int get_path(const struct card_tlv *seq, uint8_t *out, size_t cap, size_t *n)
{
    struct card_tlv t;
    if (seq->tag != 0x30 || card_tlv_find(seq->val, seq->len, 0x04, &t) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    return get_oct(&t, out, cap, n);
}

static int decode_common(const struct card_tlv *seq, struct card_p15_obj *o)
{
    const uint8_t *p = seq->val, *end = seq->val + seq->len;
    struct card_tlv t;
    int rv;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        if (t.tag == 0x0C)
            get_str(&t, o->label, sizeof(o->label));
        else if (t.tag == 0x04 && get_oct(&t, o->auth_id, sizeof(o->auth_id),
                                          &o->auth_id_len) != CARD_OK)
            return CARD_E_BAD_RESPONSE;
    }
    return rv == CARD_E_NOT_FOUND ? CARD_OK : rv;
}

static int decode_class(const struct card_tlv *seq, struct card_p15_obj *o)
{
    const uint8_t *p = seq->val, *end = seq->val + seq->len;
    struct card_tlv t;
    int rv, bits = 0;
    bool have_id = false;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        if (t.tag == 0x04 && !have_id) {
            if (get_oct(&t, o->id, sizeof(o->id), &o->id_len) != CARD_OK)
                return CARD_E_BAD_RESPONSE;
            have_id = true;
        } else if (t.tag == 0x03 && o->kind != P15_AUTH) {
            /* usage, then accessFlags */
            if (bits++ == 0)
                o->usage = get_bits(&t);
            else
                o->access = get_bits(&t);
        } else if (t.tag == 0x02 && o->kind != P15_AUTH) {
            unsigned v;
            if (get_uint(&t, &v) != CARD_OK)
                return CARD_E_BAD_RESPONSE;
            o->key_ref = (int)v;
        }
    }
    if (rv != CARD_E_NOT_FOUND)
        return rv;
    return have_id ? CARD_OK : CARD_E_BAD_RESPONSE;
}

static int decode_type(const struct card_tlv *a1, struct card_p15_obj *o)
{
    struct card_tlv seq, t;
    if (card_tlv_find(a1->val, a1->len, 0x30, &seq) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    const uint8_t *p = seq.val, *end = seq.val + seq.len;
    int rv, ints = 0;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        unsigned v;
        if (t.tag == 0x30 && !o->path_len && o->kind != P15_AUTH) {
            if (get_path(&t, o->path, sizeof(o->path), &o->path_len) != CARD_OK)
                return CARD_E_BAD_RESPONSE;
        } else if (t.tag == 0x02) {
            if (get_uint(&t, &v) != CARD_OK)
                return CARD_E_BAD_RESPONSE;
            if (o->kind == P15_AUTH) {
                /* minLength, storedLength, maxLength */
                if (ints == 0)
                    o->pin_min = v;
                else if (ints == 1)
                    o->pin_stored = v;
                else if (ints == 2)
                    o->pin_max = v;
                ints++;
            } else {
                o->bits = v;
            }
        } else if (t.tag == 0x80 && o->kind == P15_AUTH) {
            /* One byte, read unsigned: references 0x80.. are common. */
            unsigned ref = 0;
            if (t.len == 1)
                ref = t.val[0];
            else if (get_uint(&t, &ref) != CARD_OK)
                return CARD_E_BAD_RESPONSE;
            o->key_ref = (int)ref;
        }
    }
    return rv == CARD_E_NOT_FOUND ? CARD_OK : rv;
}

static int decode_one(enum card_p15_kind kind, const struct card_tlv *e,
                      struct card_p15_obj *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->key_ref = -1;
    if (e->tag == 0xA0 && (kind == P15_PRKEY || kind == P15_PUBKEY))
        o->ec = true;
    else if (e->tag != 0x30)
        return CARD_E_NOT_FOUND;    /* a kind we do not keep: skipped */
    const uint8_t *p = e->val, *end = e->val + e->len;
    struct card_tlv common, cls, t;
    if (card_tlv_next(&p, end, &common) != CARD_OK || common.tag != 0x30 ||
        card_tlv_next(&p, end, &cls) != CARD_OK || cls.tag != 0x30)
        return CARD_E_BAD_RESPONSE;
    int rv = decode_common(&common, o);
    if (rv == CARD_OK)
        rv = decode_class(&cls, o);
    if (rv != CARD_OK)
        return rv;
    bool have_type = false;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        if (t.tag == 0xA1) {
            rv = decode_type(&t, o);
            if (rv != CARD_OK)
                return rv;
            have_type = true;
        }
    }
    if (rv != CARD_E_NOT_FOUND)
        return rv;
    return have_type ? CARD_OK : CARD_E_BAD_RESPONSE;
}

int card_p15_decode(enum card_p15_kind kind, const uint8_t *buf, size_t len,
                    struct card_p15_obj *out, size_t max, size_t *n)
{
    const uint8_t *p = buf, *end = buf + len;
    struct card_tlv e;
    int rv;
    *n = 0;
    while ((rv = card_tlv_next(&p, end, &e)) == CARD_OK) {
        if (*n == max)
            continue;
        int r = decode_one(kind, &e, &out[*n]);
        if (r == CARD_OK)
            (*n)++;
        else if (r != CARD_E_NOT_FOUND)
            return r;
    }
    return rv == CARD_E_NOT_FOUND ? CARD_OK : rv;
}

static void put_path(struct der *d, const uint8_t *path, size_t len)
{
    struct der s = { .n = 0 };
    put(&s, 0x04, path, len);
    put_der(d, 0x30, &s);
}

size_t card_p15_encode(const struct card_p15_obj *o, uint8_t *out, size_t cap)
{
    struct der common, cls, type, inner, obj, whole;
    struct der *ds[] = { &common, &cls, &type, &inner, &obj, &whole };
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++)
        ds[i]->n = 0, ds[i]->err = false;
    if (o->kind == P15_AUTH || o->id_len == 0)
        return 0;
    if (o->label[0])
        put(&common, 0x0C, o->label, strlen(o->label));
    if (o->kind == P15_PRKEY) {
        put_bits(&common, 0x1, 2);          /* private */
        if (o->auth_id_len)
            put(&common, 0x04, o->auth_id, o->auth_id_len);
    }
    put(&cls, 0x04, o->id, o->id_len);
    if (o->kind != P15_CERT) {
        put_bits(&cls, o->usage, 10);
        if (o->access)
            put_bits(&cls, o->access, 5);
        if (o->key_ref >= 0)
            put_uint(&cls, 0x02, (unsigned)o->key_ref);
    }
    put_path(&inner, o->path, o->path_len);
    if (o->kind != P15_CERT && !o->ec)
        put_uint(&inner, 0x02, o->bits);
    put_der(&type, 0x30, &inner);
    put_der(&obj, 0x30, &common);
    put_der(&obj, 0x30, &cls);
    put_der(&obj, 0xA1, &type);
    put_der(&whole, o->ec && o->kind != P15_CERT ? 0xA0 : 0x30, &obj);
    if (whole.err)
        return 0;
    if (out && whole.n <= cap)
        memcpy(out, whole.b, whole.n);
    return whole.n;
}

int card_p15_decode_odf(const uint8_t *buf, size_t len, struct card_p15_odf *odf)
{
    const uint8_t *p = buf, *end = buf + len;
    struct card_tlv e, path;
    int rv;
    memset(odf, 0, sizeof(*odf));
    while ((rv = card_tlv_next(&p, end, &e)) == CARD_OK) {
        uint8_t *dst = NULL;
        size_t *dl = NULL;
        switch (e.tag) {
        case 0xA0: dst = odf->prkdf; dl = &odf->prkdf_len; break;
        case 0xA1: dst = odf->pukdf; dl = &odf->pukdf_len; break;
        case 0xA4: dst = odf->cdf; dl = &odf->cdf_len; break;
        case 0xA8: dst = odf->aodf; dl = &odf->aodf_len; break;
        default: continue;
        }
        if (card_tlv_find(e.val, e.len, 0x30, &path) != CARD_OK ||
            get_path(&path, dst, 16, dl) != CARD_OK)
            return CARD_E_BAD_RESPONSE;
    }
    return rv == CARD_E_NOT_FOUND ? CARD_OK : rv;
}

size_t card_p15_encode_odf(const struct card_p15_odf *odf, uint8_t *out, size_t cap)
{
    struct der d = { .n = 0 }, s;
    const struct { uint32_t tag; const uint8_t *p; size_t n; } f[] = {
        { 0xA0, odf->prkdf, odf->prkdf_len }, { 0xA1, odf->pukdf, odf->pukdf_len },
        { 0xA4, odf->cdf, odf->cdf_len }, { 0xA8, odf->aodf, odf->aodf_len },
    };
    for (size_t i = 0; i < 4; i++) {
        if (!f[i].n)
            continue;
        s.n = 0;
        s.err = false;
        put_path(&s, f[i].p, f[i].n);
        put_der(&d, f[i].tag, &s);
    }
    if (d.err)
        return 0;
    if (out && d.n <= cap)
        memcpy(out, d.b, d.n);
    return d.n;
}

int card_p15_decode_tokeninfo(const uint8_t *buf, size_t len,
                              struct card_p15_tokeninfo *ti)
{
    struct card_tlv seq, t;
    memset(ti, 0, sizeof(*ti));
    if (card_tlv_find(buf, len, 0x30, &seq) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    const uint8_t *p = seq.val, *end = seq.val + seq.len;
    if (card_tlv_next(&p, end, &t) != CARD_OK || t.tag != 0x02 ||
        get_uint(&t, &ti->version) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    if (card_tlv_next(&p, end, &t) != CARD_OK || t.tag != 0x04 ||
        get_oct(&t, ti->serial, sizeof(ti->serial), &ti->serial_len) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    int rv;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK) {
        if (t.tag == 0x0C)
            get_str(&t, ti->manufacturer, sizeof(ti->manufacturer));
        else if (t.tag == 0x80)
            get_str(&t, ti->label, sizeof(ti->label));
    }
    return rv == CARD_E_NOT_FOUND ? CARD_OK : rv;
}

size_t card_p15_encode_tokeninfo(const struct card_p15_tokeninfo *ti,
                                 uint8_t *out, size_t cap)
{
    struct der in = { .n = 0 }, d = { .n = 0 };
    put_uint(&in, 0x02, ti->version);
    put(&in, 0x04, ti->serial, ti->serial_len);
    if (ti->manufacturer[0])
        put(&in, 0x0C, ti->manufacturer, strlen(ti->manufacturer));
    if (ti->label[0])
        put(&in, 0x80, ti->label, strlen(ti->label));
    put_bits(&in, 0, 4);
    put_der(&d, 0x30, &in);
    if (d.err)
        return 0;
    if (out && d.n <= cap)
        memcpy(out, d.b, d.n);
    return d.n;
}
