/* driver_o.c: profile O, IAS-ECC with the AWP PKCS#15 layout (NHS
 * Series 8): init, reading objects, PIN, signing and decryption. The
 * writing half is in driver_o_write.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/driver_o.h"
#include "card/tlv.h"

static const uint8_t o_atr[] = {
    0x3B, 0xDD, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x80, 0xF9, 0xA0,
    0x00, 0x00, 0x00, 0x77, 0x01, 0x08, 0x00, 0x07, 0x90, 0x00, 0xFE,
};
static const uint8_t awp_aid[] = {
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0xF2, 0x50, 0x4F, 0x54, 0x20, 0x41, 0x57, 0x50,
};

#define O_PIN_REF 0x81
#define O_PUK_REF 0x84
#define O_CHUNK 256

static bool o_match_atr(const uint8_t *atr, size_t len)
{
    return len == sizeof(o_atr) && !memcmp(atr, o_atr, len);
}

/* Once per transaction: the EFs this driver selects are the
 * application's, which stays the current DF (see struct card's sel). */
int card_o_select_app(struct card *c)
{
    if (c->sel == CARD_SEL_O_APP)
        return CARD_OK;
    c->sel = CARD_SEL_NONE;
    uint8_t fci[256];
    size_t n = sizeof(fci);
    struct card_apdu a = { 0x00, 0xA4, 0x04, 0x00, awp_aid, sizeof(awp_aid), true, 0, false };
    int rv = card_apdu_run(c, &a, fci, &n);
    if (rv == CARD_OK)
        c->sel = CARD_SEL_O_APP;
    return rv;
}

static int fcp_size(const uint8_t *fcp, size_t len, size_t *size)
{
    struct card_tlv t62, t;
    if (card_tlv_find(fcp, len, 0x62, &t62) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    if (card_tlv_find(t62.val, t62.len, 0x80, &t) != CARD_OK &&
        card_tlv_find(t62.val, t62.len, 0x81, &t) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    if (t.len == 0 || t.len > 3)
        return CARD_E_BAD_RESPONSE;
    *size = 0;
    for (size_t i = 0; i < t.len; i++)
        *size = *size << 8 | t.val[i];
    return CARD_OK;
}

int card_o_select_ef(struct card *c, uint16_t fid, size_t *size)
{
    uint8_t d[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    uint8_t fcp[256];
    size_t n = sizeof(fcp);
    struct card_apdu a = { 0x00, 0xA4, 0x01, 0x04, d, 2, true, 0, false };
    int rv = card_apdu_run(c, &a, fcp, &n);
    if (rv != CARD_OK)
        return rv;
    return size ? fcp_size(fcp, n, size) : CARD_OK;
}

/* The entries read so far end in 00 padding: the rest of the file is
 * padding too (PKCS#15 directory files, as card_p15_decode reads them). */
static bool records_end(const uint8_t *buf, size_t n)
{
    const uint8_t *p = buf, *end = buf + n;
    struct card_tlv t;
    int rv;
    while ((rv = card_tlv_next(&p, end, &t)) == CARD_OK)
        ;
    return rv == CARD_E_NOT_FOUND && p < end && *p == 0x00;
}

/* Reads len bytes of the current EF; stops early at its end, and for a
 * directory file (records) at the padding after its last entry. */
static int read_binary(struct card *c, uint8_t *buf, size_t len, size_t *got,
                       bool records)
{
    size_t have = 0;
    size_t chunk = c->max_recv && c->max_recv < O_CHUNK ? c->max_recv : O_CHUNK;
    while (have < len) {
        size_t want = len - have < chunk ? len - have : chunk;
        if (have > 0x7FFF)
            return CARD_E_BAD_RESPONSE;
        struct card_apdu a = { 0x00, 0xB0, (uint8_t)(have >> 8), (uint8_t)have,
                               NULL, 0, true, want, false };
        size_t n = want;
        uint16_t sw = 0;
        int rv = card_apdu_transmit(c, &a, buf + have, &n, &sw);
        if (rv != CARD_OK)
            return rv;
        if (sw != 0x9000 && sw != 0x6282)
            return card_sw_to_rv(sw);
        have += n;
        if (n < want || (records && records_end(buf, have)))
            break;
    }
    *got = have;
    return CARD_OK;
}

static int read_ef(struct card *c, uint16_t fid, uint8_t **buf, size_t *len, bool records)
{
    size_t size = 0;
    *buf = NULL;
    *len = 0;
    int rv = card_o_select_ef(c, fid, &size);
    if (rv != CARD_OK)
        return rv;
    if (size > 0x8000)
        return CARD_E_BAD_RESPONSE;
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return CARD_E_HOST_MEMORY;
    size_t got = 0;
    rv = read_binary(c, b, size, &got, records);
    if (rv != CARD_OK) {
        free(b);
        return rv;
    }
    *buf = b;
    *len = got;
    return CARD_OK;
}

int card_o_read_ef(struct card *c, uint16_t fid, uint8_t **buf, size_t *len)
{
    return read_ef(c, fid, buf, len, false);
}

static uint16_t path_fid(const uint8_t *p, size_t n, uint16_t dflt)
{
    return n >= 2 ? (uint16_t)(p[n - 2] << 8 | p[n - 1]) : dflt;
}

static int read_df(struct card *c, uint16_t fid, enum card_p15_kind kind,
                   struct card_p15_obj *o, size_t *n)
{
    uint8_t *b;
    size_t len;
    *n = 0;
    int rv = read_ef(c, fid, &b, &len, true);
    if (rv == CARD_E_NOT_FOUND)
        return CARD_OK;     /* no such directory: no such objects */
    if (rv != CARD_OK)
        return rv;
    rv = card_p15_decode(kind, b, len, o, O_MAX_OBJS, n);
    free(b);
    return rv;
}

/* The directory files' IDs, from the ODF (once per connect). */
static int read_odf(struct card *c)
{
    if (c->have_dirs)
        return CARD_OK;
    uint8_t *b;
    size_t len;
    struct card_p15_odf odf;
    int rv = card_o_read_ef(c, 0x5031, &b, &len);
    if (rv != CARD_OK)
        return rv;
    rv = card_p15_decode_odf(b, len, &odf);
    free(b);
    if (rv != CARD_OK)
        return rv;
    c->prkdf = path_fid(odf.prkdf, odf.prkdf_len, 0x7002);
    c->pukdf = path_fid(odf.pukdf, odf.pukdf_len, 0x7004);
    c->cdf = path_fid(odf.cdf, odf.cdf_len, 0x7005);
    c->aodf = path_fid(odf.aodf, odf.aodf_len, 0x7001);
    c->have_dirs = true;
    return CARD_OK;
}

static int read_dir(struct card *c, struct card_o_dir *d, bool pukdf)
{
    memset(d, 0, sizeof(*d));
    int rv = read_odf(c);
    if (rv != CARD_OK)
        return rv;
    d->prkdf = c->prkdf;
    d->pukdf = c->pukdf;
    d->cdf = c->cdf;
    d->aodf = c->aodf;
    rv = read_df(c, d->prkdf, P15_PRKEY, d->prk, &d->nprk);
    if (rv == CARD_OK && pukdf)
        rv = read_df(c, d->pukdf, P15_PUBKEY, d->puk, &d->npuk);
    if (rv == CARD_OK)
        rv = read_df(c, d->cdf, P15_CERT, d->crt, &d->ncrt);
    return rv;
}

int card_o_open_dir(struct card *c, struct card_o_dir **out)
{
    struct card_o_dir *d = malloc(sizeof(*d));
    if (!d)
        return CARD_E_HOST_MEMORY;
    int rv = card_o_select_app(c);
    if (rv == CARD_OK)
        rv = read_dir(c, d, true);
    if (rv != CARD_OK) {
        free(d);
        d = NULL;
    }
    *out = d;
    return rv;
}

int card_o_find(const struct card_p15_obj *o, size_t n, const uint8_t *id, size_t idlen)
{
    for (size_t i = 0; i < n; i++)
        if (o[i].id_len == idlen && !memcmp(o[i].id, id, idlen))
            return (int)i;
    return -1;
}

static int dup(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen)
{
    *out = malloc(n ? n : 1);
    if (!*out)
        return CARD_E_HOST_MEMORY;
    memcpy(*out, p, n);
    *outlen = n;
    return CARD_OK;
}

int card_o_read_pubkey(struct card *c, unsigned ref, bool ec, struct card_container *k)
{
    uint8_t d[] = { 0x4D, 0x09, 0x70, 0x07, 0xBF, 0xA0, (uint8_t)ref, 0x03,
                    0x7F, 0x49, 0x80 };
    uint8_t r[1024];
    size_t n = sizeof(r);
    struct card_apdu a = { 0x00, 0xCB, 0x3F, 0xFF, d, sizeof(d), true, 0, false };
    int rv = card_apdu_run(c, &a, r, &n);
    if (rv != CARD_OK)
        return rv;
    struct card_tlv pk, t;
    if (card_tlv_find(r, n, 0x7F49, &pk) != CARD_OK)
        return CARD_E_BAD_RESPONSE;
    k->ref = ref;
    if (ec) {
        if (card_tlv_find(pk.val, pk.len, 0x86, &t) != CARD_OK || t.len != 65 ||
            t.val[0] != 0x04)
            return CARD_E_BAD_RESPONSE;
        k->type = CARD_KEY_EC_P256;
        k->bits = 256;
        rv = dup(t.val, t.len, &k->ec_point, &k->ec_point_len);
    } else {
        struct card_tlv e;
        if (card_tlv_find(pk.val, pk.len, 0x81, &t) != CARD_OK || t.len < 64 ||
            card_tlv_find(pk.val, pk.len, 0x82, &e) != CARD_OK || e.len == 0 ||
            e.len > 8)
            return CARD_E_BAD_RESPONSE;
        const uint8_t *m = t.val;
        size_t ml = t.len;
        while (ml > 1 && *m == 0) {
            m++;
            ml--;
        }
        k->type = CARD_KEY_RSA;
        k->bits = (unsigned)ml * 8;
        rv = dup(m, ml, &k->modulus, &k->modulus_len);
        if (rv == CARD_OK)
            rv = dup(e.val, e.len, &k->exponent, &k->exponent_len);
    }
    if (rv == CARD_OK)
        rv = card_container_set_id(k);
    return rv;
}

static int o_read_objects(struct card *c, struct card_objects *out, unsigned flags,
                          uint64_t *counter, bool *counted)
{
    (void)flags;        /* the PrKDF lists pending keys too */
    (void)counter;
    (void)counted;      /* the counter is a file of its own */
    struct card_o_dir *d = malloc(sizeof(*d));
    if (!d)
        return CARD_E_HOST_MEMORY;
    int rv = card_o_select_app(c);
    if (rv == CARD_OK)
        rv = read_dir(c, d, false);
    if (rv != CARD_OK)
        goto out;
    out->c = calloc(d->nprk ? d->nprk : 1, sizeof(*out->c));
    if (!out->c) {
        rv = CARD_E_HOST_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < d->nprk; i++) {
        const struct card_p15_obj *p = &d->prk[i];
        struct card_container *k = &out->c[out->n];
        unsigned ref = p->key_ref < 0 ? 0 : (unsigned)p->key_ref & 0x7F;
        if (ref < O_REF_MIN || ref > O_REF_MAX) {
            rv = CARD_E_BAD_RESPONSE;
            goto out;
        }
        /* The key is read from the card even where a certificate names
         * it: a key replaced under its entry must show as not matching. */
        int ci = card_o_find(d->crt, d->ncrt, p->id, p->id_len);
        const struct card_p15_obj *cr = ci < 0 ? NULL : &d->crt[ci];
        uint8_t *der = NULL;
        size_t len = 0;
        if (cr) {
            rv = card_o_read_ef(c, path_fid(cr->path, cr->path_len, 0), &der, &len);
            if (rv == CARD_E_NOT_FOUND)
                cr = NULL;      /* an entry naming no file: no certificate */
            else if (rv != CARD_OK)
                goto out;
        }
        rv = card_o_read_pubkey(c, ref, p->ec, k);
        if (rv == CARD_E_NOT_FOUND) {
            /* An entry naming no key: nothing to show for it. */
            card_container_clear(k);
            free(der);
            rv = CARD_OK;
            continue;
        }
        if (rv != CARD_OK) {
            card_container_clear(k);
            free(der);
            goto out;
        }
        k->ref = ref;
        snprintf(k->label, sizeof(k->label), "%s", p->label);
        k->can_sign = (p->usage & (P15_USAGE_SIGN | P15_USAGE_NONREP |
                                   P15_USAGE_SIGNRECOVER)) != 0;
        k->can_decrypt = !p->ec && (p->usage & (P15_USAGE_DECRYPT |
                                                P15_USAGE_UNWRAP)) != 0;
        out->n++;
        if (!cr)
            continue;       /* pending: no certificate committed yet */
        k->cert = der;
        k->cert_len = len;
        if (cr->label[0])
            snprintf(k->label, sizeof(k->label), "%s", cr->label);
    }
out:
    if (rv != CARD_OK)
        card_objects_clear(out);
    free(d);
    return rv;
}

/* EF.ATR: E0 holds the I/O buffer sizes as INTEGERs: send, send under
 * secure messaging, receive, receive under secure messaging. */
static void parse_ef_atr(struct card *c, const uint8_t *b, size_t len)
{
    struct card_tlv e0, t;
    if (card_tlv_find(b, len, 0xE0, &e0) != CARD_OK)
        return;
    const uint8_t *p = e0.val, *end = e0.val + e0.len;
    size_t v[3] = { 0, 0, 0 }, k = 0;
    while (k < 3 && card_tlv_next(&p, end, &t) == CARD_OK) {
        if (t.tag != 0x02 || t.len == 0 || t.len > 3)
            return;
        for (size_t i = 0; i < t.len; i++)
            v[k] = v[k] << 8 | t.val[i];
        k++;
    }
    /* The card counts the header in its send size; leave room for an
     * extended header and Le as well. */
    if (k == 3 && v[0] > 64 && v[2] > 64) {
        c->max_send = v[0] - 9;
        c->max_recv = v[2];
    }
}

static int o_init(struct card *c, struct card_info *info)
{
    c->max_send = 255;
    c->max_recv = 256;
    c->ext_len = true;
    c->chaining = true;
    c->pin_pad = 8;
    c->sel = CARD_SEL_NONE;
    c->have_dirs = false;
    uint8_t mf[] = { 0x3F, 0x00 };
    struct card_apdu sel = { 0x00, 0xA4, 0x00, 0x0C, mf, 2, false, 0, false };
    int rv = card_apdu_run(c, &sel, NULL, NULL);
    if (rv != CARD_OK)
        return rv;
    uint8_t *b;
    size_t len;
    if (card_o_read_ef(c, 0x2F01, &b, &len) == CARD_OK) {
        parse_ef_atr(c, b, len);
        free(b);
    }
    /* EF.SN by SFI 1C: 5A 0A + 10 bytes. */
    uint8_t sn[64];
    size_t n = sizeof(sn);
    struct card_apdu rsn = { 0x00, 0xB0, 0x9C, 0x00, NULL, 0, true, 0, false };
    uint16_t sw = 0;
    rv = card_apdu_transmit(c, &rsn, sn, &n, &sw);
    if (rv != CARD_OK)
        return rv;
    if (sw != 0x9000 && sw != 0x6282)
        return card_sw_to_rv(sw);
    struct card_tlv t;
    if (card_tlv_find(sn, n, 0x5A, &t) != CARD_OK || t.len < 8)
        return CARD_E_BAD_RESPONSE;
    card_hex(t.val + t.len - 8, 8, info->serial);
    rv = card_o_select_app(c);
    if (rv != CARD_OK)
        return rv;
    rv = card_o_read_ef(c, 0x5032, &b, &len);
    if (rv != CARD_OK)
        return rv;
    struct card_p15_tokeninfo ti;
    rv = card_p15_decode_tokeninfo(b, len, &ti);
    free(b);
    if (rv != CARD_OK)
        return rv;
    memcpy(info->label, ti.label, sizeof(info->label) - 1);
    info->label[sizeof(info->label) - 1] = 0;
    info->model = "Series 8 (IAS-ECC)";
    info->pin_min = 4;
    info->pin_max = 8;
    info->max_containers = O_REF_MAX;
    info->rsa_bits_min = 2048;
    info->rsa_bits_max = 2048;
    info->has_ec = info->has_pss = info->has_sha2 = info->has_puk = true;
    info->cert_labels = true;
    /* The PIN's length rules, from the AODF when it has them. */
    if (read_odf(c) != CARD_OK || card_o_read_ef(c, c->aodf, &b, &len) != CARD_OK)
        return CARD_OK;
    struct card_p15_obj au[4];
    size_t na = 0;
    if (card_p15_decode(P15_AUTH, b, len, au, 4, &na) == CARD_OK) {
        for (size_t i = 0; i < na; i++) {
            if (au[i].key_ref != O_PIN_REF)
                continue;
            if (au[i].pin_min)
                info->pin_min = au[i].pin_min;
            if (au[i].pin_max)
                info->pin_max = au[i].pin_max;
            if (au[i].pin_stored)
                c->pin_pad = au[i].pin_stored;
        }
    }
    free(b);
    if (c->pin_pad < info->pin_max)
        c->pin_pad = info->pin_max;
    if (c->pin_pad > 32)
        c->pin_pad = 32;
    return CARD_OK;
}

static int o_change_counter(struct card *c, uint64_t *counter)
{
    int rv = card_o_select_app(c);
    uint8_t *b = NULL;
    size_t len = 0;
    if (rv == CARD_OK)
        rv = card_o_read_ef(c, 0x5034, &b, &len);
    if (rv != CARD_OK)
        return rv;
    if (len != 4)
        rv = CARD_E_BAD_RESPONSE;
    else
        *counter = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | b[2] << 8 | b[3];
    free(b);
    return rv;
}

int card_o_pin_pad(struct card *c, const char *pin, size_t len, uint8_t *out,
              size_t *outlen)
{
    if (len < c->info.pin_min || len > c->info.pin_max || len > c->pin_pad)
        return CARD_E_PIN_LEN;
    memset(out, 0xFF, c->pin_pad);
    memcpy(out, pin, len);
    *outlen = c->pin_pad;
    return CARD_OK;
}

static int o_pin_status(struct card *c, int *tries_left)
{
    int rv = card_o_select_app(c);
    if (rv != CARD_OK)
        return rv;
    struct card_apdu a = { 0x00, 0x20, 0x00, O_PIN_REF, NULL, 0, false, 0, false };
    uint16_t sw = 0;
    rv = card_apdu_transmit(c, &a, NULL, NULL, &sw);
    if (rv != CARD_OK)
        return rv;
    if ((sw & 0xFFF0) == 0x63C0)
        *tries_left = sw & 0x0F;
    else if (sw == 0x9000)
        *tries_left = 3;
    else if (sw == 0x6983)
        *tries_left = -1;
    else
        return card_sw_to_rv(sw);
    return CARD_OK;
}

static int verify(struct card *c, uint8_t ref, const char *pin, size_t len)
{
    uint8_t blk[32];
    size_t n = 0;
    int rv = card_o_pin_pad(c, pin, len, blk, &n);
    if (rv == CARD_OK) {
        struct card_apdu a = { 0x00, 0x20, 0x00, ref, blk, n, false, 0, false };
        rv = card_apdu_run(c, &a, NULL, NULL);
    }
    card_secure_zero(blk, sizeof(blk));
    return rv;
}

static int o_pin_verify(struct card *c, const char *pin, size_t len)
{
    int rv = card_o_select_app(c);
    return rv == CARD_OK ? verify(c, O_PIN_REF, pin, len) : rv;
}

static int o_pin_change(struct card *c, const char *old, size_t oldlen,
                        const char *neu, size_t newlen)
{
    uint8_t blk[64];
    size_t n1 = 0, n2 = 0;
    int rv = card_o_select_app(c);
    if (rv == CARD_OK)
        rv = card_o_pin_pad(c, old, oldlen, blk, &n1);
    if (rv == CARD_OK)
        rv = card_o_pin_pad(c, neu, newlen, blk + n1, &n2);
    if (rv == CARD_OK) {
        struct card_apdu a = { 0x00, 0x24, 0x00, O_PIN_REF, blk, n1 + n2, false, 0, false };
        rv = card_apdu_run(c, &a, NULL, NULL);
    }
    card_secure_zero(blk, sizeof(blk));
    return rv;
}

/* VERIFY the PUK, then RESET RETRY COUNTER with the new PIN only. */
static int o_pin_unblock(struct card *c, const char *puk, size_t puklen,
                         const char *neu, size_t newlen)
{
    uint8_t blk[32];
    size_t n = 0;
    int rv = card_o_select_app(c);
    if (rv == CARD_OK)
        rv = card_o_pin_pad(c, neu, newlen, blk, &n);
    if (rv == CARD_OK)
        rv = verify(c, O_PUK_REF, puk, puklen);
    if (rv == CARD_OK) {
        struct card_apdu a = { 0x00, 0x2C, 0x02, O_PIN_REF, blk, n, false, 0, false };
        rv = card_apdu_run(c, &a, NULL, NULL);
    }
    card_secure_zero(blk, sizeof(blk));
    return rv;
}

static int mse(struct card *c, uint8_t tmpl, unsigned ref, uint8_t alg)
{
    uint8_t d[] = { 0x84, 0x01, (uint8_t)(0x80 | ref), 0x80, 0x01, alg };
    struct card_apdu a = { 0x00, 0x22, 0x41, tmpl, d, sizeof(d), false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

/* DigestInfo prefixes the card signs with algorithm 12. */
static bool is_digest_info(const uint8_t *in, size_t len)
{
    static const struct { uint8_t p[19]; size_t plen, hlen; } di[] = {
        { { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A,
            0x05, 0x00, 0x04, 0x14 }, 15, 20 },
        { { 0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
            0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19, 32 },
        { { 0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
            0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19, 48 },
        { { 0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
            0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19, 64 },
    };
    for (size_t i = 0; i < sizeof(di) / sizeof(di[0]); i++)
        if (len == di[i].plen + di[i].hlen && !memcmp(in, di[i].p, di[i].plen))
            return true;
    return false;
}

static int o_sign(struct card *c, const struct card_container *k,
                  enum card_sign_alg alg, const uint8_t *in, size_t inlen,
                  uint8_t *sig, size_t *siglen)
{
    bool ec = k->type == CARD_KEY_EC_P256;
    size_t need = ec ? 64 : k->modulus_len ? k->modulus_len : k->bits / 8;
    if (need < 64)
        return CARD_E_ARGS;
    if (ec != (alg == CARD_SIGN_ECDSA))
        return CARD_E_ARGS;
    if (alg != CARD_SIGN_RSA_PKCS1 && inlen != 20 && inlen != 32 && inlen != 48 &&
        inlen != 64)
        return CARD_E_ARGS;
    if (inlen == 0 || (!ec && inlen > need - 11))
        return CARD_E_ARGS;
    if (*siglen < need)
        return CARD_E_ARGS;
    int rv = card_o_select_app(c);
    if (rv != CARD_OK)
        return rv;
    size_t n = *siglen;
    if (alg == CARD_SIGN_RSA_PKCS1 && !is_digest_info(in, inlen)) {
        /* Raw PKCS#1: the card pads whatever it is given. */
        rv = mse(c, 0xA4, k->ref, 0x02);
        if (rv != CARD_OK)
            return rv;
        struct card_apdu a = { 0x00, 0x88, 0x00, 0x00, in, inlen, true, 0, false };
        rv = card_apdu_run(c, &a, sig, &n);
    } else {
        uint8_t code = alg == CARD_SIGN_RSA_PKCS1 ? 0x12 :
                       alg == CARD_SIGN_RSA_PSS ? 0x32 : 0x44;
        rv = mse(c, 0xB6, k->ref, code);
        if (rv != CARD_OK)
            return rv;
        struct card_apdu a = { 0x00, 0x2A, 0x9E, 0x9A, in, inlen, true, 0, false };
        rv = card_apdu_run(c, &a, sig, &n);
    }
    if (rv == CARD_OK && n != need)
        rv = CARD_E_BAD_RESPONSE;
    if (rv == CARD_OK)
        *siglen = n;
    return rv;
}

static int o_decrypt(struct card *c, const struct card_container *k,
                     const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    size_t modlen = k->modulus_len ? k->modulus_len : k->bits / 8;
    if (k->type != CARD_KEY_RSA || inlen != modlen || inlen > 512)
        return CARD_E_ARGS;
    int rv = card_o_select_app(c);
    if (rv == CARD_OK)
        rv = mse(c, 0xB8, k->ref, 0x1A);
    if (rv != CARD_OK)
        return rv;
    /* Padding indicator 81, then the cryptogram, chained. */
    uint8_t d[513];
    d[0] = 0x81;
    memcpy(d + 1, in, inlen);
    struct card_apdu a = { 0x00, 0x2A, 0x80, 0x86, d, inlen + 1, true, 0, true };
    return card_apdu_run(c, &a, out, outlen);
}

const struct card_driver card_driver_o = {
    .name = "O",
    .match_atr = o_match_atr,
    .init = o_init,
    .change_counter = o_change_counter,
    .read_objects = o_read_objects,
    .pin_status = o_pin_status,
    .pin_verify = o_pin_verify,
    .pin_change = o_pin_change,
    .logout = card_reset_logout,
    .pin_unblock = o_pin_unblock,
    .sign = o_sign,
    .decrypt = o_decrypt,
    .generate_key = card_o_generate_key,
    .write_cert = card_o_write_cert,
    .delete_cert = card_o_delete_cert,
    .delete_key = card_o_delete_key,
};
