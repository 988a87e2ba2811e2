/* driver_o_write.c: profile O's writes. A new credential is made in this
 * order: the key pair (GENERATE), its PrKDF and PuKDF entries (a pending
 * key), its certificate file 34<ref>, and last the one CDF write that
 * commits it. Deletion undoes it in the reverse order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/driver_o.h"
#include "card/x509.h"

static const uint8_t rsa_e[] = { 0x01, 0x00, 0x01 };
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03,
                                    0x01, 0x07 };

int card_o_write_df(struct card *c, uint16_t fid, const struct card_p15_obj *o, size_t n)
{
    uint8_t *buf = calloc(1, O_DF_SIZE);
    if (!buf)
        return CARD_E_HOST_MEMORY;
    size_t used = 0;
    int rv = CARD_OK;
    for (size_t i = 0; i < n; i++) {
        size_t len = card_p15_encode(&o[i], buf + used, O_DF_SIZE - used);
        if (!len) {
            rv = CARD_E_ARGS;
            goto out;
        }
        if (used + len > O_DF_SIZE) {
            rv = CARD_E_CARD_FULL;
            goto out;
        }
        used += len;
    }
    size_t size = 0;
    rv = card_o_select_ef(c, fid, &size);
    if (rv != CARD_OK)
        goto out;
    if (size < O_DF_SIZE && used > size) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    /* The whole file in one command, padding included, so a torn write
     * leaves either the old directory or the new one. */
    size_t len = size && size < O_DF_SIZE ? size : O_DF_SIZE;
    struct card_apdu a = { 0x00, 0xD6, 0x00, 0x00, buf, len, false, 0, false };
    rv = card_apdu_run(c, &a, NULL, NULL);
out:
    free(buf);
    return rv;
}

static int sdo_delete(struct card *c, uint8_t cls, unsigned ref)
{
    uint8_t d[] = { 0x70, 0x04, 0xBF, cls, (uint8_t)ref, 0x00 };
    struct card_apdu a = { 0x00, 0xDB, 0x3F, 0xFF, d, sizeof(d), false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

static int generate(struct card *c, unsigned ref, bool ec)
{
    uint8_t put[32];
    size_t n = 0;
    put[n++] = 0x70;
    put[n++] = 0;
    put[n++] = 0xBF;
    put[n++] = 0xA0;
    put[n++] = (uint8_t)ref;
    put[n++] = 0;
    put[n++] = 0x7F;
    put[n++] = 0x49;
    if (ec) {
        put[n++] = sizeof(p256_oid);
        memcpy(put + n, p256_oid, sizeof(p256_oid));
        n += sizeof(p256_oid);
    } else {
        put[n++] = 2 + sizeof(rsa_e);
        put[n++] = 0x82;
        put[n++] = sizeof(rsa_e);
        memcpy(put + n, rsa_e, sizeof(rsa_e));
        n += sizeof(rsa_e);
    }
    put[1] = (uint8_t)(n - 2);
    put[5] = (uint8_t)(n - 6);
    struct card_apdu pd = { 0x00, 0xDB, 0x3F, 0xFF, put, n, false, 0, false };
    int rv = card_apdu_run(c, &pd, NULL, NULL);
    if (rv != CARD_OK)
        return rv;
    uint8_t gen[] = { 0x70, 0x03, 0xBF, 0x90, (uint8_t)ref };
    struct card_apdu g = { 0x00, 0x47, 0x00, 0x00, gen, sizeof(gen), false, 0, false };
    uint16_t sw = 0;
    rv = card_apdu_transmit(c, &g, NULL, NULL, &sw);
    if (rv != CARD_OK)
        return rv;
    if (sw == 0x6A89)
        return CARD_E_NOT_FOUND;    /* the reference holds a key: not free */
    return card_sw_to_rv(sw);
}

static void key_entry(struct card_p15_obj *o, enum card_p15_kind kind,
                      const struct card_container *k, const struct card_o_dir *d)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->ec = k->type == CARD_KEY_EC_P256;
    memcpy(o->id, k->id, k->id_len);
    o->id_len = k->id_len;
    o->key_ref = (int)(0x80 | k->ref);
    o->bits = k->bits;
    snprintf(o->label, sizeof(o->label), "Key %02X", k->ref);
    if (kind == P15_PRKEY) {
        o->access = P15_ACCESS_SENSITIVE | P15_ACCESS_ALWAYS_SENSITIVE |
                    P15_ACCESS_NEVER_EXTRACTABLE | P15_ACCESS_LOCAL;
        o->usage = P15_USAGE_SIGN | P15_USAGE_NONREP |
                   (o->ec ? 0 : P15_USAGE_DECRYPT | P15_USAGE_SIGNRECOVER |
                                P15_USAGE_UNWRAP);
        /* The same PIN as the keys already there. */
        if (d->nprk) {
            memcpy(o->auth_id, d->prk[0].auth_id, d->prk[0].auth_id_len);
            o->auth_id_len = d->prk[0].auth_id_len;
        } else {
            o->auth_id[0] = 0x01;
            o->auth_id_len = 1;
        }
    } else {
        o->usage = P15_USAGE_VERIFY | (o->ec ? 0 : P15_USAGE_ENCRYPT | P15_USAGE_WRAP);
    }
}

int card_o_generate_key(struct card *c, enum card_key_type type, unsigned bits,
                   struct card_container *out)
{
    bool ec = type == CARD_KEY_EC_P256;
    if (type != CARD_KEY_RSA && !ec)
        return CARD_E_ARGS;
    if ((ec && bits && bits != 256) || (!ec && bits != 2048))
        return CARD_E_ARGS;
    struct card_o_dir *d;
    int rv = card_o_open_dir(c, &d);
    if (rv != CARD_OK)
        return rv;
    if (d->nprk >= O_MAX_OBJS || d->npuk >= O_MAX_OBJS) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    /* The first reference no directory entry names and no key occupies. */
    unsigned ref = 0;
    for (unsigned r = O_REF_MIN; r <= O_REF_MAX && !ref; r++) {
        bool used = false;
        for (size_t i = 0; i < d->nprk; i++)
            if (d->prk[i].key_ref >= 0 && ((unsigned)d->prk[i].key_ref & 0x7F) == r)
                used = true;
        if (used)
            continue;
        rv = generate(c, r, ec);
        if (rv == CARD_OK)
            ref = r;
        else if (rv != CARD_E_NOT_FOUND)
            goto out;
    }
    if (!ref) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    rv = card_o_read_pubkey(c, ref, ec, out);
    if (rv == CARD_OK && !ec && out->bits != bits)
        rv = CARD_E_BAD_RESPONSE;
    if (rv != CARD_OK)
        goto out;
    out->can_sign = true;
    out->can_decrypt = !ec;
    key_entry(&d->prk[d->nprk], P15_PRKEY, out, d);
    key_entry(&d->puk[d->npuk], P15_PUBKEY, out, d);
    /* As reading the objects will show it. */
    snprintf(out->label, sizeof(out->label), "%s", d->prk[d->nprk].label);
    rv = card_o_write_df(c, d->prkdf, d->prk, d->nprk + 1);
    if (rv != CARD_OK && rv != CARD_E_REMOVED && rv != CARD_E_NO_CARD) {
        /* No entry names the new key: take it back rather than leave a
         * reference that nothing lists. */
        sdo_delete(c, 0x90, ref);
        sdo_delete(c, 0xA0, ref);
        goto out;
    }
    if (rv == CARD_OK)
        rv = card_o_write_df(c, d->pukdf, d->puk, d->npuk + 1);
out:
    if (rv != CARD_OK)
        card_container_clear(out);
    free(d);
    return rv;
}

static int delete_file(struct card *c, uint16_t fid)
{
    uint8_t f[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    struct card_apdu a = { 0x00, 0xE4, 0x00, 0x00, f, 2, false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

static int create_file(struct card *c, uint16_t fid, size_t size)
{
    uint8_t fcp[] = { 0x62, 0x08, 0x83, 0x02, (uint8_t)(fid >> 8), (uint8_t)fid,
                      0x80, 0x02, (uint8_t)(size >> 8), (uint8_t)size };
    struct card_apdu a = { 0x00, 0xE0, 0x00, 0x00, fcp, sizeof(fcp), false, 0, false };
    return card_apdu_run(c, &a, NULL, NULL);
}

static void drop(struct card_p15_obj *o, size_t *n, int i)
{
    memmove(&o[i], &o[i + 1], (*n - (size_t)i - 1) * sizeof(*o));
    (*n)--;
}

int card_o_write_cert(struct card *c, const uint8_t *id, size_t idlen,
                 const uint8_t *der, size_t len, const char *label)
{
    if (len < 16 || len > 0x7FFF)
        return CARD_E_ARGS;
    struct card_o_dir *d;
    int rv = card_o_open_dir(c, &d);
    if (rv != CARD_OK)
        return rv;
    int pi = card_o_find(d->prk, d->nprk, id, idlen);
    if (pi < 0 || d->prk[pi].key_ref < 0) {
        rv = CARD_E_NOT_FOUND;
        goto out;
    }
    int ci = card_o_find(d->crt, d->ncrt, id, idlen);
    if (ci >= 0) {
        /* An entry whose file is gone is replaced; a real one is kept. */
        const struct card_p15_obj *cr = &d->crt[ci];
        rv = cr->path_len >= 2
                 ? card_o_select_ef(c, (uint16_t)(cr->path[cr->path_len - 2] << 8 |
                                             cr->path[cr->path_len - 1]), NULL)
                 : CARD_E_NOT_FOUND;
        if (rv != CARD_E_NOT_FOUND) {
            rv = rv == CARD_OK ? CARD_E_ARGS : rv;
            goto out;
        }
        drop(d->crt, &d->ncrt, ci);
    }
    if (d->ncrt >= O_MAX_OBJS) {
        rv = CARD_E_CARD_FULL;
        goto out;
    }
    unsigned ref = (unsigned)d->prk[pi].key_ref & 0x7F;
    uint16_t fid = (uint16_t)(0x3400 | ref);
    /* A leftover from an interrupted write is not committed: replace it. */
    rv = delete_file(c, fid);
    if (rv != CARD_OK && rv != CARD_E_NOT_FOUND)
        goto out;
    rv = create_file(c, fid, len);
    if (rv == CARD_OK)
        rv = card_o_select_ef(c, fid, NULL);
    for (size_t off = 0; rv == CARD_OK && off < len;) {
        size_t n = len - off < c->max_send ? len - off : c->max_send;
        struct card_apdu a = { 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off,
                               der + off, n, false, 0, false };
        rv = card_apdu_run(c, &a, NULL, NULL);
        off += n;
    }
    if (rv != CARD_OK)
        goto out;
    struct card_p15_obj *e = &d->crt[d->ncrt];
    memset(e, 0, sizeof(*e));
    e->kind = P15_CERT;
    e->key_ref = -1;
    memcpy(e->id, id, idlen);
    e->id_len = idlen;
    e->path[0] = (uint8_t)(fid >> 8);
    e->path[1] = (uint8_t)fid;
    e->path_len = 2;
    if (label && *label)
        strncpy(e->label, label, sizeof(e->label) - 1);
    else
        card_cert_cn(der, len, e->label, sizeof(e->label));
    rv = card_o_write_df(c, d->cdf, d->crt, d->ncrt + 1);
out:
    free(d);
    return rv;
}

/* The CDF entry ci goes (the commit), then its file. */
static int delete_cert_at(struct card *c, struct card_o_dir *d, int ci)
{
    uint8_t path[16];
    size_t plen = d->crt[ci].path_len;
    memcpy(path, d->crt[ci].path, plen);
    drop(d->crt, &d->ncrt, ci);
    int rv = card_o_write_df(c, d->cdf, d->crt, d->ncrt);
    if (rv == CARD_OK && plen >= 2) {
        int r = delete_file(c, (uint16_t)(path[plen - 2] << 8 | path[plen - 1]));
        if (r != CARD_OK && r != CARD_E_NOT_FOUND)
            rv = r;
    }
    return rv;
}

int card_o_delete_cert(struct card *c, const uint8_t *id, size_t idlen)
{
    struct card_o_dir *d;
    int rv = card_o_open_dir(c, &d);
    if (rv != CARD_OK)
        return rv;
    int ci = card_o_find(d->crt, d->ncrt, id, idlen);
    rv = ci < 0 ? CARD_E_NOT_FOUND : delete_cert_at(c, d, ci);
    free(d);
    return rv;
}

int card_o_delete_key(struct card *c, const uint8_t *id, size_t idlen)
{
    struct card_o_dir *d;
    int rv = card_o_open_dir(c, &d);
    if (rv != CARD_OK)
        return rv;
    int pi = card_o_find(d->prk, d->nprk, id, idlen);
    if (pi < 0) {
        rv = CARD_E_NOT_FOUND;
        goto out;
    }
    unsigned ref = d->prk[pi].key_ref < 0 ? 0 : (unsigned)d->prk[pi].key_ref & 0x7F;
    /* The certificate goes first: a certificate without its key is useless. */
    int ci = card_o_find(d->crt, d->ncrt, id, idlen);
    if (ci >= 0 && (rv = delete_cert_at(c, d, ci)) != CARD_OK)
        goto out;
    drop(d->prk, &d->nprk, pi);
    rv = card_o_write_df(c, d->prkdf, d->prk, d->nprk);
    int ui = card_o_find(d->puk, d->npuk, id, idlen);
    if (rv == CARD_OK && ui >= 0) {
        drop(d->puk, &d->npuk, ui);
        rv = card_o_write_df(c, d->pukdf, d->puk, d->npuk);
    }
    if (rv == CARD_OK && ref) {
        rv = sdo_delete(c, 0x90, ref);
        int r = sdo_delete(c, 0xA0, ref);
        if (rv == CARD_E_NOT_FOUND)
            rv = CARD_OK;
        if (rv == CARD_OK && r != CARD_OK && r != CARD_E_NOT_FOUND)
            rv = r;
    }
out:
    free(d);
    return rv;
}
